#include "pluginmanager.h"

#include "plugin_p.h"
#include "pluginregistry.h"

#include "pluginhost_plugins_debug.h"

#include <QFutureWatcher>
#include <QHash>
#include <QPromise>
#include <QThread>

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
    std::chrono::milliseconds shutdownTimeout = std::chrono::seconds(10);
    // Shared with every loaded instance's services, which may outlive the manager briefly.
    std::shared_ptr<PluginRegistry> registry = std::make_shared<PluginRegistry>();
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
    // Unload everything and give each interpreter a bounded time to end.
    QList<QFuture<CallResult>> unloading;
    for (Plugin *plugin : std::as_const(d->plugins)) {
        unloading.append(plugin->unload());
    }
    const auto deadline = std::chrono::steady_clock::now() + d->shutdownTimeout;
    for (int i = 0; i < unloading.size(); ++i) {
        QFuture<CallResult> &future = unloading[i];
        while (!future.isFinished() && std::chrono::steady_clock::now() < deadline) {
            QThread::msleep(1);
        }
        if (!future.isFinished()) {
            qCWarning(PLUGINHOST_PLUGINS) << "plugin" << d->plugins.at(i)->id() << "did not unload within" << d->shutdownTimeout.count()
                                          << "ms; its interpreter is left behind";
        }
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
        d->registry->add(plugin->d->shared);
        connect(plugin, &Plugin::stateChanged, this, [this, plugin](Plugin::State state) {
            Q_EMIT pluginStateChanged(plugin, state);
        });
        d->plugins.append(plugin);
        d->pluginsById.insert(metaData.id(), plugin);
    }
    d->failures = found.failures;
    for (const PluginMetaData::Failure &failure : std::as_const(d->failures)) {
        qCWarning(PLUGINHOST_PLUGINS).noquote() << "not a usable plugin:" << failure.errorText;
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

std::chrono::milliseconds PluginManager::shutdownTimeout() const
{
    return d->shutdownTimeout;
}

void PluginManager::setShutdownTimeout(std::chrono::milliseconds timeout)
{
    d->shutdownTimeout = timeout;
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
