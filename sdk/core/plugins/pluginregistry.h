#pragma once

#include "pluginerror.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <QVariant>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace PluginHost
{

struct PluginShared;
class ProfileDatabase;

/*
 * The plugins one PluginManager knows, as plugins reach each other: events and plugin-to-plugin
 * calls. Owned by the manager through a shared_ptr that every loaded instance's services also
 * hold, so that a plugin still running while the manager goes away finds it intact.
 * Thread-safe throughout.
 */
class PluginRegistry
{
public:
    // Receives every event a plugin emits, on the emitting plugin's thread.
    using EventSink = std::function<void(const QString &pluginId, const QString &event, const QVariant &payload)>;

    PluginRegistry();
    ~PluginRegistry();

    void add(std::shared_ptr<PluginShared> plugin);
    void remove(const QString &pluginId);

    /// The manager's; cleared (under the registry's lock) before the manager goes away.
    void setEventSink(EventSink sink);

    void setDataLocation(const QString &location);
    QString dataLocation() const;

    /// Empty: QStandardPaths::AppDataLocation. A new directory applies to what opens the database next.
    void setProfileDirectory(const QString &directory);
    QString profileDirectory() const;
    void setStorageLockTimeout(std::chrono::milliseconds timeout);
    std::chrono::milliseconds storageLockTimeout() const;
    /// The profile's database (`<profile directory>/pluginhost.sqlite`), made on first use.
    std::shared_ptr<ProfileDatabase> database();

    /// An event from plugin `sender`: to the sink and to every other plugin subscribed to it.
    void emitEvent(const QString &sender, const QString &event, const QVariant &payload);

    /// Queues the event for every loaded plugin subscribed to it, except `exceptPlugin`. Each
    /// plugin's mailbox is first in, first out, so the events of one sender stay in order.
    void deliver(const QString &event, const QVariant &payload, const QString &sender, const QString &exceptPlugin);

    struct Caller {
        QString pluginId;
        // The wait happens on the caller's interpreter thread, so the caller runs nothing else
        // meanwhile: the wait is an edge caller → target of the wait-for graph.
        bool blocksItsInterpreter = false;
        // True once the calling instance is unloading or replaced: it may call no more.
        std::function<bool()> isLeaving;
    };

    /*
     * Calls `function` of plugin `target` for `caller` and waits for the result (or the
     * timeout). A call that would close a cycle of the wait-for graph fails at once with
     * PluginError::Kind::CallCycle instead of waiting forever.
     */
    CallResult
    call(const Caller &caller, const QString &target, const QString &function, const QVariantList &arguments, std::optional<std::chrono::milliseconds> timeout);

    /// Ends every call plugin `pluginId` is waiting for with Kind::Unloaded: it is unloading,
    /// and its unload must not wait for the plugins it called.
    void interruptWaitsOf(const QString &pluginId);

    /// Events of one sender that may wait in one receiver's mailbox; more are dropped, counted,
    /// and logged once per burst, so that one plugin's flood neither fills other plugins'
    /// mailboxes nor keeps their calls waiting behind it for long.
    static constexpr int queuedEventsPerSender = 1000;

private:
    struct Waiter;
    struct EventFlow {
        std::shared_ptr<std::atomic<int>> queued = std::make_shared<std::atomic<int>>(0);
        std::atomic<qint64> dropped{0}; // in the current burst
    };
    std::shared_ptr<EventFlow> eventFlow(const QString &receiver, const QString &sender);
    static void noteDropped(EventFlow &flow, const QString &receiver, const QString &sender, const QString &event);
    static void noteDelivered(EventFlow &flow, const QString &receiver, const QString &sender);
    // The plugins `from` waits for, transitively, ending in `to`; empty when it does not wait for `to`.
    QStringList waitPath(const QString &from, const QString &to) const;

    mutable std::mutex m_mutex;
    QHash<QString, std::shared_ptr<PluginShared>> m_plugins;
    EventSink m_eventSink;
    QString m_dataLocation; // empty: the default under QStandardPaths::AppDataLocation
    QString m_profileDirectory; // empty: QStandardPaths::AppDataLocation
    std::chrono::milliseconds m_storageLockTimeout = std::chrono::seconds(2);
    std::shared_ptr<ProfileDatabase> m_database;
    QHash<QString, QString> m_waitingFor; // caller → target, while the caller's interpreter thread waits
    QMultiHash<QString, std::shared_ptr<Waiter>> m_waiters; // by caller, for interruptWaitsOf()
    QHash<QPair<QString, QString>, std::shared_ptr<EventFlow>> m_eventFlows; // by receiver and sender
};

} // namespace PluginHost
