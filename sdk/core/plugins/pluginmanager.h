#pragma once

#include "plugin.h"
#include "pluginhostcore_export.h"
#include "pluginmetadata.h"

#include <QDateTime>
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
 * How long an unload (or reload, or the manager's destructor) waits for a plugin before it
 * quarantines it (PluginManager::setUnloadTimeouts()).
 * \since 0.2
 */
struct UnloadTimeouts {
    /// For on_unload() to return; also for a call or load still running when the unload began.
    std::chrono::milliseconds onUnload = std::chrono::seconds(5);
    /// For the plugin's own non-daemon threads to end once on_unload() returned, and for the
    /// interpreter to end after them.
    std::chrono::milliseconds threads = std::chrono::seconds(2);
    /// After `pluginhost.Cancelled` was raised into code that overran its time, for it to stop.
    std::chrono::milliseconds cancelGrace = std::chrono::seconds(1);

    bool operator==(const UnloadTimeouts &other) const = default;
};

/*!
 * A plugin whose interpreter was abandoned because it did not unload in time
 * (PluginManager::quarantinedPlugins()).
 * \since 0.2
 */
struct QuarantinedPlugin {
    QString pluginId;
    qint64 interpreterId = -1; ///< CPython's id of the abandoned interpreter
    QDateTime since; ///< UTC
    /// What it was doing, e.g. "on_unload() did not return within 5 s; blocked in C in
    /// time.sleep() called at stuck.py:12".
    QString reason;
};

/*!
 * \class PluginHost::PluginManager
 * \brief Finds plugins in search paths, and loads, unloads and reloads them.
 *
 * \code
 * auto *manager = new PluginHost::PluginManager(this);
 * manager->setSearchPaths({QStringLiteral("/usr/share/myapp/plugins")});
 * manager->discover();
 * manager->loadAll(); // every enabled plugin (Plugin::isEnabled())
 * \endcode
 *
 * Folders that are not valid plugins are reported by failures(), never fatal: one broken
 * plugin never stops the others. Plugin ids are unique: folders of one search path that share
 * an id are all failures, and a folder whose id an earlier search path provides is listed by
 * shadowed() (see PluginMetaData::discover()). The manager unloads every plugin when destroyed; a plugin
 * that does not unload in time is quarantined (see setUnloadTimeouts()), so the destructor
 * returns in bounded time even when a plugin is stuck.
 *
 * Plugins talk to each other through the manager that loaded them: an event a plugin emits
 * (`pluginhost.emit("name", payload)`) reaches every other plugin of the same manager that
 * subscribed to it (`@pluginhost.on("name")`) and the application as eventEmitted();
 * `pluginhost.call("other.plugin", "function", …)` reaches the other plugin's exports.
 * \code
 * connect(manager, &PluginHost::PluginManager::eventEmitted, this,
 *         [](const QString &pluginId, const QString &event, const QVariant &payload) {
 *             qDebug() << pluginId << "says" << event << payload;
 *         });
 * manager->broadcast(QStringLiteral("theme-changed"), QStringLiteral("dark"));
 * \endcode
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
    /*!
     * Folders under the search paths that are not valid plugins, with the reason, as of the
     * last discover(); each is also logged as a warning. Among them are the folders of one
     * search path that share an id: none of them is loaded, and each failure names the others.
     */
    QList<PluginMetaData::Failure> failures() const;
    /*!
     * Valid plugin folders that the last discover() passed over because a folder with the same
     * id in an earlier search path is used instead (a user's copy overriding the application's,
     * when the user's folder comes first in setSearchPaths()); each is also logged as a warning.
     * \since 0.2
     */
    QList<PluginMetaData::Shadowed> shadowed() const;

    /// Loads every discovered plugin that is enabled (Plugin::isEnabled(): the registry's
    /// choice, else `EnabledByDefault`) and not loaded yet.
    /// The future finishes when all of them finished loading, successfully or not.
    QFuture<void> loadAll();
    /// Unloads every loaded plugin; finishes when all interpreters are gone.
    QFuture<void> unloadAll();

    /*!
     * How long unloading a plugin (Plugin::unload(), Plugin::reload(), this manager's
     * destructor) waits for it. An unload runs on_unload(), then lets the plugin's own
     * non-daemon threads end (Python would wait for them without limit), then ends the
     * interpreter. When on_unload() (or a call still running ahead of it) overruns
     * `onUnload`, `pluginhost.Cancelled` is raised into it, and into threads still running
     * after `threads`. Code that still does not stop within `cancelGrace` (blocked in C, in
     * time.sleep() or a socket, or catching Cancelled) gets the plugin **quarantined**:
     * - its interpreter is abandoned on its thread, and destroyed if that thread ever returns;
     * - the unload future finishes at once: with an error (PluginError::Kind::TimedOut,
     *   saying what the plugin was doing and where) when on_unload() never returned, or with
     *   what on_unload() returned when only its threads were stuck;
     * - the plugin becomes Unloaded, with that error as lastError(), and may be loaded again
     *   at once, into a fresh interpreter; a reload's fresh instance takes over at once, its
     *   `previous_state` being what on_unload() returned, or None;
     * - quarantinedPlugins() lists it until its thread returns, and a warning is logged.
     * Defaults: 5 s, 2 s and 1 s. Applies to unloads that begin afterwards.
     * \since 0.2
     */
    void setUnloadTimeouts(const UnloadTimeouts &timeouts);
    /*!
     * How long loading a plugin (importing its entry module and running `on_load()`) may
     * take. Past it the load fails with PluginError::Kind::TimedOut, "did not finish loading
     * within 5 s; interrupted at plugin.py:12 in on_load" (or "blocked in C at …" when the
     * plugin is stuck in C and cannot be interrupted): `pluginhost.Cancelled` is raised into
     * the plugin's code, the plugin becomes Failed, and loadAll() and the other plugins go on.
     * An interpreter that does not stop is quarantined when the plugin is unloaded (see
     * setUnloadTimeouts()). A reload's time starts once the instance it replaces has ended.
     * Zero means no limit. Default: 5 s. Applies to loads that begin afterwards.
     * \since 0.2
     */
    void setLoadTimeout(std::chrono::milliseconds timeout);
    std::chrono::milliseconds loadTimeout() const;
    UnloadTimeouts unloadTimeouts() const;

    /*!
     * Plugins of this manager whose interpreter was abandoned and is still stuck (see
     * setUnloadTimeouts()), oldest first. An entry leaves the list when its thread returns and
     * the interpreter is destroyed. While any is left, Runtime::shutdown() leaves CPython
     * initialized (finalizing it would wait for them, or pull it from under them).
     * \since 0.2
     */
    QList<QuarantinedPlugin> quarantinedPlugins() const;

    /*!
     * Where plugins get their writable folders (`pluginhost.info.data_dir`): each one gets
     * `<location>/<plugin id>`, created when the plugin first asks for it. Defaults to
     * `QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/plugins"`
     * (an empty `location` restores that). Applies to plugins loaded from now on.
     */
    void setDataLocation(const QString &location);
    QString dataLocation() const;

    /*!
     * The folder of the application profile: its SQLite database, `pluginhost.sqlite`, keeps
     * the plugin registry (Plugin::isEnabled(), Plugin::record()), each plugin's
     * `pluginhost.storage` and the state of plugins with `"X-PluginHost-PersistState": true`.
     * Defaults to `QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)` (an empty
     * `directory` restores that). The database is opened on first use; plugins loaded before
     * the change keep the database they had.
     *
     * A database that cannot be opened (read-only folder, locked, from a newer PluginHost)
     * costs only what it keeps: plugins still load, isEnabled() falls back to
     * `EnabledByDefault`, and `pluginhost.storage` raises `pluginhost.PluginError` saying why.
     * A corrupt file is moved aside to `pluginhost.sqlite.corrupt-<time>`, with a warning, and
     * a fresh one made.
     * \since 0.2
     */
    void setProfileDirectory(const QString &directory);
    QString profileDirectory() const;

    /// How long one attempt to write waits for a database locked by another process (three
    /// attempts are made) or by another thread's transaction (three times as long). Default 2 s.
    void setStorageLockTimeout(std::chrono::milliseconds timeout);
    std::chrono::milliseconds storageLockTimeout() const;

    /*!
     * Sends an event from the application to every loaded plugin subscribed to `event`; their
     * handlers see an empty `sender`. `payload` is copied into each plugin (see Plugin::call()
     * for the values that can cross). Returns at once; the handlers run in each plugin's own
     * order, after the calls and events queued there before.
     */
    void broadcast(const QString &event, const QVariant &payload = QVariant());

Q_SIGNALS:
    /// discover() changed the list of plugins, failures or shadowed folders.
    void pluginsChanged();
    void pluginStateChanged(PluginHost::Plugin *plugin, PluginHost::Plugin::State state);
    /*!
     * Plugin `pluginId` emitted `event` with `payload` (a copy, made when it emitted).
     * Emitted on the manager's thread; the events of one plugin arrive in the order it sent them.
     */
    void eventEmitted(const QString &pluginId, const QString &event, const QVariant &payload);

private:
    std::unique_ptr<PluginManagerPrivate> const d;
};

} // namespace PluginHost
