#include "pluginregistry.h"

#include "plugin_p.h"
#include "pluginjobs.h"
#include "runtime/supervisor.h"
#include "storage/profiledatabase.h"

#include "pluginhost_plugins_debug.h"

#include <QDir>
#include <QStandardPaths>

#include <condition_variable>

namespace PluginHost
{

struct PluginRegistry::Waiter {
    QString target;
    QString function;
    std::mutex mutex;
    std::condition_variable changed;
    bool finished = false;
    std::optional<PluginError> interruption;
};

PluginRegistry::PluginRegistry() = default;

PluginRegistry::~PluginRegistry() = default;

void PluginRegistry::add(std::shared_ptr<PluginShared> plugin)
{
    std::lock_guard lock(m_mutex);
    const QString id = plugin->metaData.id();
    m_plugins.insert(id, std::move(plugin));
}

void PluginRegistry::remove(const QString &pluginId)
{
    std::lock_guard lock(m_mutex);
    m_plugins.remove(pluginId);
}

void PluginRegistry::setEventSink(EventSink sink)
{
    std::lock_guard lock(m_mutex);
    m_eventSink = std::move(sink);
}

void PluginRegistry::setDataLocation(const QString &location)
{
    std::lock_guard lock(m_mutex);
    m_dataLocation = location;
}

QString PluginRegistry::dataLocation() const
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_dataLocation.isEmpty()) {
            return m_dataLocation;
        }
    }
    // Resolved late: applications often name themselves after making the manager.
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QLatin1String("/plugins");
}

void PluginRegistry::setProfileDirectory(const QString &directory)
{
    std::lock_guard lock(m_mutex);
    m_profileDirectory = directory;
    m_database.reset(); // instances loaded before keep theirs
}

QString PluginRegistry::profileDirectory() const
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_profileDirectory.isEmpty()) {
            return m_profileDirectory;
        }
    }
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
}

void PluginRegistry::setStorageLockTimeout(std::chrono::milliseconds timeout)
{
    std::lock_guard lock(m_mutex);
    m_storageLockTimeout = timeout;
    if (m_database) {
        m_database->setLockTimeout(timeout);
    }
}

std::chrono::milliseconds PluginRegistry::storageLockTimeout() const
{
    std::lock_guard lock(m_mutex);
    return m_storageLockTimeout;
}

std::shared_ptr<ProfileDatabase> PluginRegistry::database()
{
    const QString directory = profileDirectory();
    std::lock_guard lock(m_mutex);
    if (!m_database) {
        m_database = std::make_shared<ProfileDatabase>(QDir(directory).filePath(QStringLiteral("pluginhost.sqlite")));
        m_database->setLockTimeout(m_storageLockTimeout);
    }
    return m_database;
}

void PluginRegistry::emitEvent(const QString &sender, const QString &event, const QVariant &payload)
{
    {
        std::lock_guard lock(m_mutex);
        if (m_eventSink) {
            m_eventSink(sender, event, payload);
        }
    }
    deliver(event, payload, sender, sender);
}

void PluginRegistry::deliver(const QString &event, const QVariant &payload, const QString &sender, const QString &exceptPlugin)
{
    QList<std::shared_ptr<PluginShared>> plugins;
    {
        std::lock_guard lock(m_mutex);
        plugins = m_plugins.values();
    }
    for (const std::shared_ptr<PluginShared> &plugin : std::as_const(plugins)) {
        const QString id = plugin->metaData.id();
        if (id == exceptPlugin) {
            continue;
        }
        std::unique_ptr<Job> refused;
        Job::DiscardReason refusal = Job::DiscardReason::Unloaded;
        const std::shared_ptr<EventFlow> flow = eventFlow(id, sender); // never under a plugin's lock
        {
            std::lock_guard lock(plugin->mutex);
            if (!plugin->interpreter || !plugin->subscriptions.contains(event)) {
                continue;
            }
            if (flow->queued->load() >= queuedEventsPerSender) {
                refusal = Job::DiscardReason::Overloaded;
            } else {
                ++*flow->queued;
                refused = plugin->interpreter->tryPost(makeEventJob(id, event, payload, sender, flow->queued), &refusal);
            }
        }
        if (refusal == Job::DiscardReason::Overloaded) {
            refused.reset(); // its destructor gives the slot back
            noteDropped(*flow, id, sender, event);
        } else if (refused) {
            refused->discard(refusal, QStringLiteral("%1 is unloading").arg(id));
        } else {
            noteDelivered(*flow, id, sender);
        }
    }
}

std::shared_ptr<PluginRegistry::EventFlow> PluginRegistry::eventFlow(const QString &receiver, const QString &sender)
{
    std::lock_guard lock(m_mutex);
    std::shared_ptr<EventFlow> &flow = m_eventFlows[qMakePair(receiver, sender)];
    if (!flow) {
        flow = std::make_shared<EventFlow>();
    }
    return flow;
}

void PluginRegistry::noteDropped(EventFlow &flow, const QString &receiver, const QString &sender, const QString &event)
{
    if (flow.dropped.fetch_add(1) == 0) {
        qCWarning(PLUGINHOST_PLUGINS).noquote() << QStringLiteral("%1 has %2 events from %3 waiting; dropping more (first: '%4') until it catches up")
                                                       .arg(receiver, QString::number(queuedEventsPerSender), sender.isEmpty() ? QStringLiteral("the host") : sender, event);
    }
}

void PluginRegistry::noteDelivered(EventFlow &flow, const QString &receiver, const QString &sender)
{
    // The burst ends once the receiver worked off half of its backlog: one freed slot is no catching up.
    if (flow.dropped.load(std::memory_order_relaxed) == 0 || flow.queued->load() > queuedEventsPerSender / 2) {
        return;
    }
    if (const qint64 dropped = flow.dropped.exchange(0)) {
        qCWarning(PLUGINHOST_PLUGINS).noquote()
            << QStringLiteral("%1 caught up with the events from %2: %3 were dropped").arg(receiver, sender.isEmpty() ? QStringLiteral("the host") : sender).arg(dropped);
    }
}

QStringList PluginRegistry::waitPath(const QString &from, const QString &to) const
{
    // The graph never holds a cycle (call() refuses the edge that would close one), so this ends.
    QStringList path{from};
    QString current = from;
    while (current != to) {
        const auto next = m_waitingFor.constFind(current);
        if (next == m_waitingFor.cend()) {
            return {};
        }
        current = next.value();
        path.append(current);
    }
    return path;
}

namespace
{
PluginError cycleError(const QString &caller, const QString &target, const QStringList &waits)
{
    const QString cycle = (QStringList{caller} + waits).join(QStringLiteral(" → "));
    if (caller == target) {
        return PluginError(PluginError::Kind::CallCycle,
                           caller,
                           QStringLiteral("call cycle: %1 would wait forever, as a plugin runs one call at a time; "
                                          "call the function directly instead of through pluginhost.call")
                               .arg(cycle));
    }
    return PluginError(PluginError::Kind::CallCycle,
                       caller,
                       QStringLiteral("call cycle: %1 would wait forever, as %2 is waiting for %3 already; "
                                      "let one side send an event (pluginhost.emit) instead of calling")
                           .arg(cycle, target, caller));
}
} // namespace

CallResult PluginRegistry::call(const Caller &caller,
                                const QString &target,
                                const QString &function,
                                const QVariantList &arguments,
                                std::optional<std::chrono::milliseconds> timeout)
{
    auto waiter = std::make_shared<Waiter>();
    waiter->target = target;
    waiter->function = function;
    std::shared_ptr<PluginShared> plugin;
    QList<std::shared_ptr<PluginShared>> known;
    {
        std::lock_guard lock(m_mutex);
        // Asked under the lock that interruptWaitsOf() takes: a caller that starts leaving
        // after this answer has its waiter registered in time to be interrupted.
        if (caller.isLeaving && caller.isLeaving()) {
            return PluginError(PluginError::Kind::Unloaded,
                               caller.pluginId,
                               QStringLiteral("%1 is unloading: it cannot call %2() of %3").arg(caller.pluginId, function, target));
        }
        plugin = m_plugins.value(target);
        if (!plugin) {
            known = m_plugins.values();
        } else {
            if (caller.blocksItsInterpreter) {
                if (const QStringList waits = waitPath(target, caller.pluginId); !waits.isEmpty()) {
                    return cycleError(caller.pluginId, target, waits);
                }
                m_waitingFor.insert(caller.pluginId, target);
            }
            m_waiters.insert(caller.pluginId, waiter);
        }
    }
    if (!plugin) {
        QStringList loaded;
        for (const std::shared_ptr<PluginShared> &candidate : std::as_const(known)) {
            std::lock_guard lock(candidate->mutex);
            if (candidate->state == Plugin::State::Loaded) {
                loaded.append(candidate->metaData.id());
            }
        }
        loaded.sort();
        return PluginError(
            PluginError::Kind::NotFound,
            caller.pluginId,
            QStringLiteral("no plugin '%1'; loaded: %2").arg(target, loaded.isEmpty() ? QStringLiteral("(none)") : loaded.join(QLatin1String(", "))));
    }

    // The deadline is the supervisor's, as for Plugin::call(): the call is dropped or interrupted
    // when it passes. The continuation is attached before posting (see Plugin::callBlocking()).
    auto [job, future] = PluginPrivate::makeCall(plugin, function, arguments, CallOptions{timeout.value_or(std::chrono::milliseconds::zero())});
    future.then(QtFuture::Launch::Sync, [waiter](const QFuture<QVariant> &) {
        {
            std::lock_guard lock(waiter->mutex);
            waiter->finished = true;
        }
        waiter->changed.notify_all(); // outside the lock, so the woken caller does not block on it
    });
    PluginPrivate::post(plugin, std::move(job));
    bool finished = false;
    std::optional<PluginError> interruption;
    {
        std::unique_lock lock(waiter->mutex);
        const auto settled = [&waiter] {
            return waiter->finished || waiter->interruption.has_value();
        };
        if (timeout) {
            // The supervisor ends the call at its deadline; the margin guards against it starving.
            waiter->changed.wait_for(lock, *timeout + Supervisor::interruptGrace + std::chrono::seconds(5), settled);
        } else {
            waiter->changed.wait(lock, settled);
        }
        finished = waiter->finished;
        interruption = waiter->interruption;
    }
    {
        std::lock_guard lock(m_mutex);
        if (caller.blocksItsInterpreter) {
            m_waitingFor.remove(caller.pluginId);
        }
        m_waiters.remove(caller.pluginId, waiter);
    }
    if (finished) {
        return CallResult::fromFuture(future);
    }
    if (interruption) {
        future.cancel();
        return *interruption;
    }
    future.cancel();
    return PluginError(PluginError::Kind::TimedOut, target, QStringLiteral("%1() did not return within %2 ms").arg(function).arg(timeout->count()));
}

void PluginRegistry::interruptWaitsOf(const QString &pluginId)
{
    std::lock_guard lock(m_mutex);
    const QList<std::shared_ptr<Waiter>> waiters = m_waiters.values(pluginId);
    for (const std::shared_ptr<Waiter> &waiter : waiters) {
        std::lock_guard waiterLock(waiter->mutex);
        waiter->interruption =
            PluginError(PluginError::Kind::Unloaded,
                        pluginId,
                        QStringLiteral("%1 is unloading: it stopped waiting for %2() of %3").arg(pluginId, waiter->function, waiter->target));
        waiter->changed.notify_all();
    }
}

} // namespace PluginHost
