#pragma once

#include "plugin.h"
#include "pluginhostcore_export.h"
#include "pluginmetadata.h"

#include <QFuture>
#include <QList>
#include <QObject>
#include <QStringList>

#include <chrono>
#include <memory>

namespace PluginHost
{

class PluginManagerPrivate;

/*!
 * \class PluginHost::PluginManager
 * \brief Finds plugins in search paths, and loads, unloads and reloads them.
 *
 * \code
 * auto *manager = new PluginHost::PluginManager(this);
 * manager->setSearchPaths({QStringLiteral("/usr/share/myapp/plugins")});
 * manager->discover();
 * manager->loadAll(); // every plugin that is enabled by default
 * \endcode
 *
 * Folders that are not valid plugins are reported by failures(), never fatal: one broken
 * plugin never stops the others. The manager unloads every plugin when destroyed, waiting
 * at most shutdownTimeout() for each.
 *
 * \since 0.1
 */
class PLUGINHOSTCORE_EXPORT PluginManager : public QObject
{
    Q_OBJECT
public:
    explicit PluginManager(QObject *parent = nullptr);
    ~PluginManager() override;

    void setSearchPaths(const QStringList &paths);
    QStringList searchPaths() const;

    /// Scans the search paths. Plugins already known keep their Plugin object and state;
    /// a folder that vanished keeps its Plugin until it is unloaded.
    void discover();

    QList<Plugin *> plugins() const;
    /// nullptr when no plugin has this id.
    Plugin *plugin(const QString &id) const;
    /// Folders under the search paths that are not valid plugins, with the reason.
    QList<PluginMetaData::Failure> failures() const;

    /// Loads every discovered plugin that is enabled by default (and not loaded yet).
    /// The future finishes when all of them finished loading, successfully or not.
    QFuture<void> loadAll();
    /// Unloads every loaded plugin; finishes when all interpreters are gone.
    QFuture<void> unloadAll();

    /// How long the destructor waits for each plugin's interpreter to end.
    std::chrono::milliseconds shutdownTimeout() const;
    void setShutdownTimeout(std::chrono::milliseconds timeout);

Q_SIGNALS:
    /// discover() changed the list of plugins or failures.
    void pluginsChanged();
    void pluginStateChanged(PluginHost::Plugin *plugin, PluginHost::Plugin::State state);

private:
    std::unique_ptr<PluginManagerPrivate> const d;
};

} // namespace PluginHost
