#pragma once

#include <QCommandLineParser>
#include <QFile>
#include <QFuture>
#include <QObject>
#include <QVariant>

#include <chrono>

namespace PluginHost
{
class Plugin;
class PluginManager;
}

/*
 * `pluginhost --headless`: enables or disables plugins in the profile's registry, then lists
 * the plugins or calls one function, prints JSON on stdout (see jsonvalues.h for bytes and
 * floats JSON cannot hold), errors and the log on stderr, and exits: 0 success, 1 failure,
 * 2 usage error or --timeout expired.
 */
class HeadlessHost : public QObject
{
    Q_OBJECT
public:
    /// Writes its results to `outputDescriptor` (see reserveStandardOutput()) and nowhere else.
    HeadlessHost(PluginHost::PluginManager *manager, int outputDescriptor, QObject *parent = nullptr);

    /// Sends every log message to stderr, whole (Qt's own handler may send it elsewhere, and
    /// cuts a message at a NUL).
    static void routeLogToStandardError();

    /// Starts the requested action; the application quits with its exit code when it is done.
    void start(const QCommandLineParser &parser);

    /// A deadline for --call (zero: none). On expiry the plugin, the function and the plugin's
    /// Python stack go to stderr, and the exit code is 2.
    void setTimeout(std::chrono::milliseconds timeout);

private:
    // Enables or disables each plugin for good; false (after printing why) when one fails.
    bool changeRegistry(const QStringList &pluginIds, bool enabled);
    void list();
    void call(const QString &pluginId, const QString &function, const QString &argumentsJson);
    void loadFailed(PluginHost::Plugin *plugin, const QString &function);
    void timedOut(PluginHost::Plugin *plugin, const QString &function);
    // False (after saying why on stderr) when the result could not be written.
    bool printResult(const QByteArray &json);
    void finish(int exitCode);

    PluginHost::PluginManager *const m_manager;
    QFile m_output;
    std::chrono::milliseconds m_timeout{0};
    bool m_timedOut = false; // the deadline passed: the call's own result no longer counts
    QFuture<QVariant> m_call;
};
