#pragma once

#include <QCommandLineParser>
#include <QObject>

namespace PluginHost
{
class PluginManager;
}

/*
 * `pluginhost --headless`: enables or disables plugins in the profile's registry, then lists
 * the plugins or calls one function, prints JSON on stdout,
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
    // Enables or disables each plugin for good; false (after printing why) when one fails.
    bool changeRegistry(const QStringList &pluginIds, bool enabled);
    void list();
    void call(const QString &pluginId, const QString &function, const QString &argumentsJson);
    void finish(int exitCode);

    PluginHost::PluginManager *const m_manager;
};
