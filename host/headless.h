#pragma once

#include <QCommandLineParser>
#include <QObject>

namespace PluginHost
{
class PluginManager;
}

/*
 * `pluginhost --headless`: lists the plugins or calls one function, prints JSON on stdout,
 * errors on stderr, and exits: 0 success, 1 failure.
 */
class HeadlessHost : public QObject
{
    Q_OBJECT
public:
    HeadlessHost(PluginHost::PluginManager *manager, QObject *parent = nullptr);

    /// Starts the requested action; the application quits with its exit code when it is done.
    void start(const QCommandLineParser &parser);

private:
    void list();
    void call(const QString &pluginId, const QString &function, const QString &argumentsJson);
    void finish(int exitCode);

    PluginHost::PluginManager *const m_manager;
};
