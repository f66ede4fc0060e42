#include "plugin.h"
#include "plugin_p.h"
#include "pluginjobs.h"
#include "pluginregistry.h"
#include "pluginservices.h"
#include "storage/profiledatabase.h"

#include "pluginhost_plugins_debug.h"

#include <QCoreApplication>
#include <QFutureWatcher>
#include <QPromise>
#include <QThread>

#include <condition_variable>

namespace PluginHost
{

namespace
{
template<typename T>
QFuture<T> readyFuture(const T &value)
{
    QPromise<T> promise;
    promise.start();
    promise.addResult(value);
    promise.finish();
    return promise.future();
}

bool onGuiThread()
{
    const QCoreApplication *application = QCoreApplication::instance();
    return application && application->inherits("QGuiApplication") && QThread::currentThread() == application->thread();
}
} // namespace

QFuture<CallResult> PluginPrivate::beginLoad(quint64 generation, const QFuture<CallResult> &previousInstance)
{
    const PluginMetaData &metaData = shared->metaData;
    Interpreter::Config config;
    config.isolation = metaData.isolation() == PluginMetaData::Isolation::Shared ? Interpreter::Isolation::SharedGil : Interpreter::Isolation::OwnGil;
    config.allowExec = metaData.permissions().contains(QLatin1String("subprocess"));
    config.name = metaData.id();
    shared->interpreter = Interpreter::start(config);
    shared->state = Plugin::State::Loading;
    shared->lastError = PluginError();

    QPromise<CallResult> promise;
    promise.start();
    QFuture<CallResult> future = promise.future();
    shared->pendingLoad = future;
    shared->interpreter->post(makeLoadJob(shared, registry, generation, previousInstance, std::move(promise)));
    return future;
}

QFuture<CallResult> PluginPrivate::retire(const std::shared_ptr<Interpreter> &interpreter, std::optional<quint64> settleGeneration)
{
    auto result = std::make_shared<CallResult>();
    auto promise = std::make_shared<QPromise<CallResult>>();
    promise->start();
    QFuture<CallResult> future = promise->future();
    interpreter->post(makeUnloadJob(shared, result));
    interpreter->stop();
    interpreter->whenFinished([promise, result, settleGeneration, sharedState = shared] {
        if (settleGeneration) {
            sharedState->settle(*settleGeneration, Plugin::State::Unloaded, result->error());
        }
        promise->addResult(*result);
        promise->finish();
    });
    return future;
}

QFuture<CallResult> PluginPrivate::whenEnded(const std::shared_ptr<Interpreter> &interpreter)
{
    auto promise = std::make_shared<QPromise<CallResult>>();
    promise->start();
    QFuture<CallResult> future = promise->future();
    interpreter->whenFinished([promise] {
        promise->addResult(CallResult());
        promise->finish();
    });
    return future;
}

void PluginPrivate::announce(QFuture<CallResult> future)
{
    // A watcher, not future.then(q, …): Qt 6.4 keeps one continuation per future, so the caller's
    // own then() (or loadAll()'s) would replace this one, and a continuation whose context object
    // was deleted meanwhile asserts. The watcher dies with the plugin and takes its callouts along.
    auto *watcher = new QFutureWatcher<CallResult>(q);
    QObject::connect(watcher, &QFutureWatcherBase::finished, q, [this, watcher] {
        watcher->deleteLater();
        Q_EMIT q->stateChanged(q->state());
    });
    watcher->setFuture(future);
}

Plugin::Plugin(const PluginMetaData &metaData, QObject *parent)
    : QObject(parent)
    , d(new PluginPrivate(metaData))
{
    d->q = this;
}

Plugin::~Plugin()
{
    std::shared_ptr<Interpreter> interpreter;
    {
        std::lock_guard lock(d->shared->mutex);
        interpreter = std::move(d->shared->interpreter);
        ++d->shared->generation;
    }
    if (d->registry) {
        d->registry->remove(id());
        d->registry->interruptWaitsOf(id());
    }
    if (interpreter) {
        for (auto &job : interpreter->takeQueuedJobs()) {
            job->discard(Job::DiscardReason::Unloaded, QStringLiteral("the plugin was destroyed"));
        }
        d->retire(interpreter, std::nullopt);
    }
}

PluginMetaData Plugin::metaData() const
{
    return d->shared->metaData;
}

QString Plugin::id() const
{
    return d->shared->metaData.id();
}

Plugin::State Plugin::state() const
{
    std::lock_guard lock(d->shared->mutex);
    return d->shared->state;
}

PluginError Plugin::lastError() const
{
    std::lock_guard lock(d->shared->mutex);
    return d->shared->lastError;
}

qint64 Plugin::interpreterId() const
{
    std::lock_guard lock(d->shared->mutex);
    return d->shared->interpreter && d->shared->state == State::Loaded ? d->shared->interpreter->id() : -1;
}

Plugin::Gil Plugin::gil() const
{
    std::lock_guard lock(d->shared->mutex);
    if (d->shared->interpreter && d->shared->state == State::Loaded) {
        return d->shared->interpreter->gil() == Interpreter::Isolation::OwnGil ? Gil::Own : Gil::Shared;
    }
    return d->shared->metaData.isolation() == PluginMetaData::Isolation::Isolated ? Gil::Own : Gil::Shared;
}

bool Plugin::isEnabled() const
{
    {
        std::lock_guard lock(d->shared->mutex);
        if (d->shared->enabled) {
            return *d->shared->enabled;
        }
    }
    RegistryRecord stored;
    if (d->registry && !d->registry->database()->record(id(), &stored).isError() && stored.enabled) {
        return *stored.enabled;
    }
    return d->shared->metaData.isEnabledByDefault();
}

PluginError Plugin::setEnabled(bool enabled)
{
    {
        std::lock_guard lock(d->shared->mutex);
        d->shared->enabled = enabled;
    }
    if (!d->registry) {
        return PluginError();
    }
    const PluginError error = storageFailure(id(), d->registry->database()->setEnabled(id(), enabled));
    if (error.isError()) {
        qCWarning(PLUGINHOST_PLUGINS).noquote() << "could not keep" << id() << (enabled ? "enabled" : "disabled") << "for later runs:" << error.message();
    }
    return error;
}

PluginRecord Plugin::record() const
{
    PluginRecord record;
    RegistryRecord stored;
    if (!d->registry || d->registry->database()->record(id(), &stored).isError()) {
        return record;
    }
    record.lastVersion = stored.lastVersion;
    record.lastResult = stored.lastResult;
    record.lastLoadTime = stored.lastLoadTime;
    record.loads = stored.loads;
    record.reloads = stored.reloads;
    record.lastError = stored.lastError;
    return record;
}

QFuture<CallResult> Plugin::load()
{
    std::unique_lock lock(d->shared->mutex);
    if (d->shared->interpreter) {
        return d->shared->state == State::Loading ? d->shared->pendingLoad : readyFuture(CallResult());
    }
    QFuture<CallResult> future = d->beginLoad(++d->shared->generation, QFuture<CallResult>());
    lock.unlock();

    Q_EMIT stateChanged(State::Loading);
    d->announce(future);
    return future;
}

QFuture<CallResult> Plugin::unload()
{
    std::shared_ptr<Interpreter> interpreter;
    std::shared_ptr<Interpreter> failed;
    quint64 generation = 0;
    State previousState = State::Unloaded;
    {
        std::lock_guard lock(d->shared->mutex);
        interpreter = std::move(d->shared->interpreter);
        failed = std::move(d->shared->failedInterpreter);
        generation = ++d->shared->generation;
        previousState = d->shared->state;
        d->shared->state = interpreter ? State::Unloading : State::Unloaded;
    }
    if (!interpreter) {
        if (previousState != State::Unloaded) {
            Q_EMIT stateChanged(State::Unloaded);
        }
        return failed ? PluginPrivate::whenEnded(failed) : readyFuture(CallResult());
    }
    Q_EMIT stateChanged(State::Unloading);

    if (d->registry) {
        d->registry->interruptWaitsOf(id()); // its unload must not wait for the plugins it is calling
    }
    for (auto &job : interpreter->takeQueuedJobs()) {
        job->discard(Job::DiscardReason::Unloaded, QStringLiteral("the plugin was unloaded before the call ran"));
    }
    QFuture<CallResult> future = d->retire(interpreter, generation);
    d->announce(future);
    return future;
}

QFuture<CallResult> Plugin::reload()
{
    std::deque<std::unique_ptr<Job>> staleLoads;
    std::unique_lock lock(d->shared->mutex);
    std::shared_ptr<Interpreter> previous = std::move(d->shared->interpreter);
    const quint64 generation = ++d->shared->generation;

    QFuture<CallResult> previousInstance;
    std::deque<std::unique_ptr<Job>> carriedOver;
    if (previous) {
        for (auto &job : previous->takeQueuedJobs()) {
            (isLoadJob(*job) ? staleLoads : carriedOver).push_back(std::move(job));
        }
        previousInstance = d->retire(previous, std::nullopt);
    }

    QFuture<CallResult> future = d->beginLoad(generation, previousInstance);
    for (auto &job : carriedOver) {
        d->shared->interpreter->post(std::move(job));
    }
    lock.unlock();

    for (auto &job : staleLoads) {
        job->discard(Job::DiscardReason::Unloaded, QStringLiteral("a reload replaced this load"));
    }
    if (previous && d->registry) {
        d->registry->interruptWaitsOf(id());
    }
    Q_EMIT stateChanged(State::Loading);
    d->announce(future);
    return future;
}

void PluginPrivate::post(const std::shared_ptr<PluginShared> &shared, std::unique_ptr<Job> job)
{
    QString reason;
    {
        std::lock_guard lock(shared->mutex);
        if (shared->interpreter) {
            job = shared->interpreter->tryPost(std::move(job));
        }
        if (job) {
            reason = shared->state == Plugin::State::Failed ? QStringLiteral("the plugin failed to load: %1").arg(shared->lastError.errorText())
                                                            : QStringLiteral("the plugin is not loaded; load it first");
        }
    }
    if (job) {
        job->discard(Job::DiscardReason::Unloaded, reason);
    }
}

QFuture<QVariant> PluginPrivate::call(const std::shared_ptr<PluginShared> &shared, const QString &function, const QVariantList &arguments)
{
    Job::Kind kind = Job::Kind::Ordinary;
    {
        std::lock_guard lock(shared->mutex);
        for (const PluginExport &exported : std::as_const(shared->exports)) {
            if (exported.name == function && exported.reentrant) {
                kind = Job::Kind::Reentrant; // runs even while another call is busy in the plugin
                break;
            }
        }
    }
    QPromise<QVariant> promise;
    promise.start();
    QFuture<QVariant> future = promise.future();
    post(shared, makeCallJob(shared->metaData.id(), function, arguments, kind, std::move(promise)));
    return future;
}

QFuture<QVariant> Plugin::call(const QString &function, const QVariantList &arguments)
{
    return PluginPrivate::call(d->shared, function, arguments);
}

CallResult Plugin::callBlocking(const QString &function, const QVariantList &arguments, std::chrono::milliseconds timeout)
{
    if (onGuiThread()) {
        qCWarning(PLUGINHOST_PLUGINS) << "callBlocking() refused on the GUI thread for" << id() << function << "- use call()";
        return PluginError(PluginError::Kind::InvalidValue,
                           id(),
                           QStringLiteral("callBlocking(%1) was called on the GUI thread, which must never wait for a plugin; use call() and .then()").arg(function));
    }
    struct Waiter {
        std::mutex mutex;
        std::condition_variable finished;
        bool done = false;
    };
    auto waiter = std::make_shared<Waiter>();
    // The continuation is attached before the call is posted, never after: Qt 6.4 runs a
    // continuation twice, crashing the second time, when it is attached while another thread
    // finishes the future. So this builds what PluginPrivate::call() builds, in that order.
    QPromise<QVariant> promise;
    promise.start();
    QFuture<QVariant> future = promise.future();
    future.then(QtFuture::Launch::Sync, [waiter](const QFuture<QVariant> &) {
        {
            std::lock_guard lock(waiter->mutex);
            waiter->done = true;
        }
        waiter->finished.notify_all(); // outside the lock, so the woken caller does not block on it
    });
    Job::Kind kind = Job::Kind::Ordinary;
    {
        std::lock_guard lock(d->shared->mutex);
        for (const PluginExport &exported : std::as_const(d->shared->exports)) {
            if (exported.name == function && exported.reentrant) {
                kind = Job::Kind::Reentrant; // as for call(): runs even while another call is busy
                break;
            }
        }
    }
    PluginPrivate::post(d->shared, makeCallJob(d->shared->metaData.id(), function, arguments, kind, std::move(promise)));
    std::unique_lock lock(waiter->mutex);
    if (!waiter->finished.wait_for(lock, timeout, [&waiter] {
            return waiter->done;
        })) {
        return PluginError(PluginError::Kind::TimedOut, id(), QStringLiteral("%1() did not return within %2 ms").arg(function).arg(timeout.count()));
    }
    return CallResult::fromFuture(future);
}

QList<PluginExport> Plugin::exports() const
{
    std::lock_guard lock(d->shared->mutex);
    return d->shared->exports;
}

QStringList Plugin::subscriptions() const
{
    QStringList events;
    {
        std::lock_guard lock(d->shared->mutex);
        events = QStringList(d->shared->subscriptions.cbegin(), d->shared->subscriptions.cend());
    }
    events.sort();
    return events;
}

QFuture<QVariantList> Plugin::describeExports()
{
    QPromise<QVariantList> promise;
    promise.start();
    QFuture<QVariantList> future = promise.future();
    PluginPrivate::post(d->shared, makeDescribeExportsJob(id(), std::move(promise)));
    return future;
}

} // namespace PluginHost
