// Runs hostiledriver for the rows of hostiletest, a few at a time, ahead of the row that waits.
#pragma once

#include <QObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace PluginHost::Hostile
{

/// A hang detector, not a timing: a driver sets every deadline of the host far below this and
/// bounds its own waits so that it always ends before it.
constexpr int driverHangBoundSeconds = 90;

/// One run of the driver for one plugin of the corpus.
struct DriverRun {
    QString row;
    QString workFolder; ///< the driver's own: the copies of the plugins, the profile, its output
    QString resultFile;
    QString startError; ///< why the driver could not be started
    bool started = false;
    bool done = false;
    bool hung = false; ///< still running at the hang bound: killed
    QProcess::ExitStatus exitStatus = QProcess::NormalExit;
    int exitCode = 0;

    /// The last `bytes` of what the driver (and so the host and its plugins) wrote to stderr.
    QString stderrTail(qsizetype bytes = 4096) const;
};

class DriverPool : public QObject
{
    Q_OBJECT
public:
    /// `rows` in the order they will be asked for; each runs under `workFolder/<row>`.
    DriverPool(const QStringList &rows, const QString &workFolder, int parallel, QObject *parent = nullptr);
    ~DriverPool() override;

    /// Starts `row` if it is not under way, keeps `parallel` drivers running on the rows after it,
    /// and waits (running the event loop) until its driver ended or was killed as hung.
    const DriverRun &waitFor(const QString &row);

    /// The environment of every process of the suite: the driver and the headless host.
    static QProcessEnvironment environment(const QString &workFolder);

private:
    void start(DriverRun &run);
    void startAhead();

    std::vector<std::unique_ptr<DriverRun>> m_runs;
    std::vector<QProcess *> m_processes;
    const int m_parallel;
    qsizetype m_next = 0; // the first row not asked for yet
};

} // namespace PluginHost::Hostile
