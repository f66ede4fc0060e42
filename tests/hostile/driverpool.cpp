#include "driverpool.h"

#include <QDir>
#include <QFile>
#include <QTest>
#include <QTimer>

#include <algorithm>

namespace PluginHost::Hostile
{

namespace
{
const QString corpus = QStringLiteral(HOSTILE_CORPUS);
} // namespace

QString DriverRun::stderrTail(qsizetype bytes) const
{
    QFile file(QDir(workFolder).filePath(QStringLiteral("stderr.txt")));
    if (!file.open(QIODevice::ReadOnly)) {
        return QStringLiteral("(no stderr.txt)");
    }
    if (file.size() > bytes) {
        file.seek(file.size() - bytes);
    }
    return QString::fromUtf8(file.readAll());
}

DriverPool::DriverPool(const QStringList &rows, const QString &workFolder, int parallel, QObject *parent)
    : QObject(parent)
    , m_parallel(std::max(1, parallel))
{
    for (const QString &row : rows) {
        auto run = std::make_unique<DriverRun>();
        run->row = row;
        run->workFolder = QDir(workFolder).filePath(row);
        run->resultFile = QDir(run->workFolder).filePath(QStringLiteral("result.json"));
        m_runs.push_back(std::move(run));
    }
}

DriverPool::~DriverPool()
{
    for (QProcess *process : m_processes) {
        if (process->state() != QProcess::NotRunning) {
            process->kill();
            process->waitForFinished();
        }
    }
}

QProcessEnvironment DriverPool::environment(const QString &workFolder)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("QT_FORCE_STDERR_LOGGING"), QStringLiteral("1"));
    // Nothing falls back to the user's own data.
    environment.insert(QStringLiteral("XDG_DATA_HOME"), QDir(workFolder).filePath(QStringLiteral("xdg-data")));
    // A plugin's MemoryError comes from an allocation the allocator refuses; AddressSanitizer
    // would abort the process on it instead of returning null as the C library does.
    QString asan = environment.value(QStringLiteral("ASAN_OPTIONS"));
    asan += QLatin1String(asan.isEmpty() ? "" : ":") + QStringLiteral("allocator_may_return_null=1");
    environment.insert(QStringLiteral("ASAN_OPTIONS"), asan);
    return environment;
}

void DriverPool::start(DriverRun &run)
{
    run.started = true;
    if (!QDir().mkpath(run.workFolder)) {
        run.startError = QStringLiteral("cannot make %1").arg(run.workFolder);
        run.done = true;
        return;
    }
    auto *process = new QProcess(this);
    m_processes.push_back(process);
    process->setProgram(QStringLiteral(HOSTILE_DRIVER));
    process->setArguments({QDir(corpus).filePath(QStringLiteral("plugins/") + run.row),
                           QDir(corpus).filePath(QStringLiteral("canary")),
                           QDir(corpus).filePath(QStringLiteral("expectations.json")),
                           run.workFolder,
                           run.resultFile});
    process->setStandardOutputFile(QDir(run.workFolder).filePath(QStringLiteral("stdout.txt")));
    process->setStandardErrorFile(QDir(run.workFolder).filePath(QStringLiteral("stderr.txt")));
    process->setProcessEnvironment(environment(run.workFolder));
    DriverRun *state = &run;
    connect(process, &QProcess::finished, this, [this, state](int exitCode, QProcess::ExitStatus exitStatus) {
        state->exitCode = exitCode;
        state->exitStatus = exitStatus;
        state->done = true;
        startAhead();
    });
    connect(process, &QProcess::errorOccurred, this, [this, state, process](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart) {
            state->startError = process->errorString();
            state->done = true;
            startAhead();
        }
    });
    QTimer::singleShot(driverHangBoundSeconds * 1000, process, [state, process] {
        if (!state->done) {
            state->hung = true;
            process->kill();
        }
    });
    process->start();
}

void DriverPool::startAhead()
{
    const auto running = std::count_if(m_runs.cbegin(), m_runs.cend(), [](const auto &run) {
        return run->started && !run->done;
    });
    qsizetype free = m_parallel - running;
    for (qsizetype i = m_next; i < qsizetype(m_runs.size()) && free > 0; ++i) {
        if (!m_runs[i]->started) {
            start(*m_runs[i]);
            --free;
        }
    }
}

const DriverRun &DriverPool::waitFor(const QString &row)
{
    const auto found = std::find_if(m_runs.begin(), m_runs.end(), [&row](const auto &run) {
        return run->row == row;
    });
    Q_ASSERT(found != m_runs.end());
    DriverRun &run = **found;
    m_next = std::max(m_next, qsizetype(found - m_runs.begin()) + 1);
    if (!run.started) {
        start(run);
    }
    startAhead();
    // The driver's own hang timer ends it; this bound only keeps a lost signal from hanging the suite.
    if (!QTest::qWaitFor(
            [&run] {
                return run.done;
            },
            2 * driverHangBoundSeconds * 1000)) {
        run.hung = true;
    }
    return run;
}

} // namespace PluginHost::Hostile
