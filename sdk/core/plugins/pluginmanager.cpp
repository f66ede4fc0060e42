#include "pluginmanager.h"

#include "plugin_p.h"
#include "pluginregistry.h"
#include "retirement_p.h"

#include "pluginhost_plugins_debug.h"

#include <QFutureWatcher>
#include <QHash>
#include <QPromise>
#include <QThread>

#include <algorithm>
#include <atomic>

namespace PluginHost
{

class PluginManagerPrivate
{
public:
    QStringList searchPaths;
    QList<Plugin *> plugins; // in discovery order
    QHash<QString, Plugin *> pluginsById;
    QList<PluginMetaData::Failure> failures;
    QList<PluginMetaData::Shadowed> shadowed;
    // Shared with every loaded instance's services, which may outlive the manager briefly.
    std::shared_ptr<PluginRegistry> registry = std::make_shared<PluginRegistry>();
    // Shared with every retiring interpreter, which may outlive the manager for good.
    std::shared_ptr<QuarantineBook> quarantine = std::make_shared<QuarantineBook>();
    std::chrono::milliseconds loadTimeout = defaultLoadTimeout;
};

PluginManager::PluginManager(QObject *parent)
    : QObject(parent)
    , d(new PluginManagerPrivate)
{
    // Runs on the emitting plugin's thread. The queued call dies with the manager: the
    // destructor clears the sink first, and QObject drops events still posted to it.
    d->registry->setEventSink([this](const QString &pluginId, const QString &event, const QVariant &payload) {
        QMetaObject::invokeMethod(
            this,
            [this, pluginId, event, payload] {
                Q_EMIT eventEmitted(pluginId, event, payload);
            },
            Qt::QueuedConnection);
    });
}

PluginManager::~PluginManager()
{
    d->registry->setEventSink({});
    // Unload everything. Each unload ends in bounded time: a plugin that does not stop in time
    // is quarantined (Retirement), so this waits for all of them at once, without a limit of its own.
    QList<QFuture<CallResult>> unloading;
    for (Plugin *plugin : std::as_const(d->plugins)) {
        unloading.append(plugin->unload());
    }
    for (const QFuture<CallResult> &future : std::as_const(unloading)) {
        while (!future.isFinished()) {
            QThread::msleep(1);
        }
    }
    if (const QList<QuarantinedPlugin> stuck = d->quarantine->entries(); !stuck.isEmpty()) {
        QStringList names;
        for (const QuarantinedPlugin &plugin : stuck) {
            names.append(QStringLiteral("%1 (%2)").arg(plugin.pluginId, plugin.reason));
        }
        qCWarning(PLUGINHOST_PLUGINS).noquote() << "plugins left behind, quarantined and still stuck:" << names.join(QLatin1String("; "));
    }
    qDeleteAll(d->plugins);
}

void PluginManager::setSearchPaths(const QStringList &paths)
{
    d->searchPaths = paths;
}

QStringList PluginManager::searchPaths() const
{
    return d->searchPaths;
}

void PluginManager::discover()
{
    const PluginMetaData::Discovery found = PluginMetaData::discover(d->searchPaths);
    for (const PluginMetaData &metaData : found.plugins) {
        if (d->pluginsById.contains(metaData.id())) {
            continue;
        }
        auto *plugin = new Plugin(metaData, this);
        plugin->d->registry = d->registry;
        plugin->d->quarantine = d->quarantine;
        plugin->d->shared->loadTimeout = d->loadTimeout; // no load can have begun yet
        d->registry->add(plugin->d->shared);
        connect(plugin, &Plugin::stateChanged, this, [this, plugin](Plugin::State state) {
            Q_EMIT pluginStateChanged(plugin, state);
        });
        d->plugins.append(plugin);
        d->pluginsById.insert(metaData.id(), plugin);
    }
    d->failures = found.failures;
    d->shadowed = found.shadowed;
    for (const PluginMetaData::Failure &failure : std::as_const(d->failures)) {
        qCWarning(PLUGINHOST_PLUGINS).noquote() << "not a usable plugin:" << failure.errorText;
    }
    for (const PluginMetaData::Shadowed &shadowed : std::as_const(d->shadowed)) {
        qCWarning(PLUGINHOST_PLUGINS).noquote() << "plugin not used:" << shadowed.message;
    }
    Q_EMIT pluginsChanged();
}

QList<Plugin *> PluginManager::plugins() const
{
    return d->plugins;
}

Plugin *PluginManager::plugin(const QString &id) const
{
    return d->pluginsById.value(id);
}

QList<PluginMetaData::Failure> PluginManager::failures() const
{
    return d->failures;
}

QList<PluginMetaData::Shadowed> PluginManager::shadowed() const
{
    return d->shadowed;
}

namespace
{
// Finishes once every future has. Watches them with QFutureWatchers in `context`'s thread rather
// than future.then(): a Qt 6.4 future keeps one continuation, which belongs to the caller of load().
QFuture<void> whenAll(const QList<QFuture<CallResult>> &futures, QObject *context)
{
    auto promise = std::make_shared<QPromise<void>>();
    promise->start();
    QFuture<void> all = promise->future();
    auto remaining = std::make_shared<qsizetype>(futures.size());
    if (futures.isEmpty()) {
        promise->finish();
    }
    for (const QFuture<CallResult> &future : futures) {
        auto *watcher = new QFutureWatcher<CallResult>(context);
        QObject::connect(watcher, &QFutureWatcherBase::finished, context, [watcher, promise, remaining] {
            watcher->deleteLater();
            if (--*remaining == 0) {
                promise->finish();
            }
        });
        watcher->setFuture(future);
    }
    return all;
}
} // namespace

QFuture<void> PluginManager::loadAll()
{
    QList<QFuture<CallResult>> loading;
    for (Plugin *plugin : std::as_const(d->plugins)) {
        if (plugin->state() != Plugin::State::Loaded && plugin->isEnabled()) {
            loading.append(plugin->load());
        }
    }
    return whenAll(loading, this);
}

QFuture<void> PluginManager::unloadAll()
{
    QList<QFuture<CallResult>> unloading;
    for (Plugin *plugin : std::as_const(d->plugins)) {
        unloading.append(plugin->unload());
    }
    return whenAll(unloading, this);
}

void PluginManager::setUnloadTimeouts(const UnloadTimeouts &timeouts)
{
    d->quarantine->setTimeouts(timeouts);
}

void PluginManager::setLoadTimeout(std::chrono::milliseconds timeout)
{
    d->loadTimeout = std::max(timeout, std::chrono::milliseconds::zero());
    for (Plugin *plugin : std::as_const(d->plugins)) {
        std::lock_guard lock(plugin->d->shared->mutex);
        plugin->d->shared->loadTimeout = d->loadTimeout;
    }
}

std::chrono::milliseconds PluginManager::loadTimeout() const
{
    return d->loadTimeout;
}

UnloadTimeouts PluginManager::unloadTimeouts() const
{
    return d->quarantine->timeouts();
}

QList<QuarantinedPlugin> PluginManager::quarantinedPlugins() const
{
    return d->quarantine->entries();
}

void PluginManager::setDataLocation(const QString &location)
{
    d->registry->setDataLocation(location);
}

QString PluginManager::dataLocation() const
{
    return d->registry->dataLocation();
}

void PluginManager::setProfileDirectory(const QString &directory)
{
    d->registry->setProfileDirectory(directory);
}

QString PluginManager::profileDirectory() const
{
    return d->registry->profileDirectory();
}

void PluginManager::setStorageLockTimeout(std::chrono::milliseconds timeout)
{
    d->registry->setStorageLockTimeout(timeout);
}

std::chrono::milliseconds PluginManager::storageLockTimeout() const
{
    return d->registry->storageLockTimeout();
}

void PluginManager::broadcast(const QString &event, const QVariant &payload)
{
    d->registry->deliver(event, payload, QString(), QString());
}

} // namespace PluginHost
