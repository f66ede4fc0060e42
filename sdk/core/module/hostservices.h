#pragma once

#include "pluginerror.h"
#include "pluginhostcore_export.h"

#include <QString>
#include <QStringList>
#include <QVariant>

#include <chrono>
#include <optional>

namespace PluginHost
{

/*
 * What the `pluginhost` module asks of the host, for one plugin instance. The plugins layer
 * implements it; the module reaches it through its module state (never a global).
 *
 * Called on the plugin's interpreter thread, and on threads the plugin starts itself, so an
 * implementation must be thread-safe. Methods that may wait (callPlugin) are called with the
 * interpreter's GIL released; the others hold it and must not block.
 */
class PLUGINHOSTCORE_EXPORT HostServices
{
public:
    enum class LogLevel {
        Debug,
        Info,
        Warning,
        Error,
        Critical,
    };

    virtual ~HostServices();

    virtual QString pluginId() const = 0;
    virtual QString version() const = 0;
    virtual QString directory() const = 0;
    /// Created on first use: a folder the plugin may write to. Empty when the host refuses one.
    virtual QString dataDirectory() const = 0;
    virtual qint64 interpreterId() const = 0;
    virtual bool ownGil() const = 0;
    /// What on_unload() of the previous instance returned, if anything.
    virtual QVariant previousState() const = 0;

    /// What the plugin may do and which places are its own, for the audit hook that enforces
    /// X-PluginHost-Permissions (audithook.h). Plain data, read once, before any plugin code runs.
    struct PermissionPolicy {
        bool enforced = false; ///< false: no audit hook, the plugin may do anything
        QStringList permissions; ///< granted: any of "network", "subprocess", "filesystem", "native"
        QString metaDataFile; ///< where the plugin declares its permissions, named in every denial
        QString dataDirectory; ///< always readable and writable (it need not exist yet)
        QString dataLocation; ///< the folder of every plugin's data directory: the others' are refused
        QString profileDatabase; ///< pluginhost.sqlite; it and its -wal, -shm, -journal are refused
    };
    /// The default enforces nothing: a host without permissions (or a test double) gives none.
    virtual PermissionPolicy permissionPolicy() const;

    /// Routes a message to the plugin's logging category, pluginhost.plugin.<id>.
    virtual void log(LogLevel level, const QString &message, const QString &fileName, int line) = 0;

    /// The plugin announced interest in `event` (so that the host delivers it there).
    virtual void subscribe(const QString &event) = 0;
    /// A copy of the payload reaches the host (a Qt signal) and every other subscribed plugin.
    virtual void emitEvent(const QString &event, const QVariant &payload) = 0;

    /// Calls another plugin's export and waits for it (GIL released). A call that would close a
    /// cycle (A waits on B waits on A) fails at once with an error naming the cycle.
    virtual CallResult callPlugin(const QString &pluginId, const QString &function, const QVariantList &arguments, std::optional<std::chrono::milliseconds> timeout) = 0;

    /// The translation of `text` from the plugin's own .qm catalogs, or `text` itself.
    virtual QString translate(const QString &context, const QString &text) const = 0;

    /*
     * The plugin's own persistent key/value store (`pluginhost.storage`). The host chooses the
     * namespace (the plugin id); nothing here names another plugin's. These may wait for the
     * database, so they are called with the GIL released. A failure is a PluginError of
     * Kind::StorageFailed, or Kind::InvalidValue for a value too large to keep.
     */
    /// `value` may be null: then only `found` is answered.
    virtual PluginError storageValue(const QString &key, QVariant *value, bool *found) = 0;
    virtual PluginError setStorageValue(const QString &key, const QVariant &value) = 0;
    virtual PluginError removeStorageValue(const QString &key, bool *existed) = 0;
    /// Sorted.
    virtual PluginError storageKeys(QStringList *keys) = 0;
    virtual PluginError storageCount(qint64 *count) = 0;
    /// Opens a transaction of the calling thread (a savepoint inside its open one): that
    /// thread's storage calls see and join its writes until it ends. `origin` is where Python
    /// opened it ("file.py:12 in f"), for reports; `*transaction` names it.
    virtual PluginError beginStorageTransaction(const QString &origin, quint64 *transaction) = 0;
    /// Commits or rolls back `transaction`, on the thread that opened it.
    virtual PluginError endStorageTransaction(quint64 transaction, bool commit) = 0;
    /// Rolls back `transaction` from any thread, with a warning naming its origin: it was dropped
    /// without being ended. Called with the GIL held.
    virtual void abandonStorageTransaction(quint64 transaction) = 0;
};

} // namespace PluginHost
