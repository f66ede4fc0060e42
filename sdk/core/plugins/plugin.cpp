#include "plugin.h"
#include "plugin_p.h"
#include "pluginjobs.h"
#include "pluginregistry.h"
#include "pluginservices.h"
#include "retirement_p.h"
#include "runtime/supervisor.h"
#include "storage/profiledatabase.h"

#include "pluginhost_plugins_debug.h"

#include <QCoreApplication>
#include <QFutureWatcher>
#include <QPromise>
#include <QThread>

#include <thread>

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
    config.busyBudget = shared->busyBudget;
    config.mailboxCapacity = shared->mailboxCapacity;
    // The interpreter is known only once started; until then (well within any budget) reports are ignored.
    auto started = std::make_shared<std::atomic<Interpreter *>>(nullptr);
    config.activityChanged = [weakShared = std::weak_ptr<PluginShared>(shared), started](const Interpreter::Activity &activity) {
        if (std::shared_ptr<PluginShared> strong = weakShared.lock()) {
            strong->reportActivity(started->load(), activity);
        }
    };
    shared->interpreter = Interpreter::start(config);
    started->store(shared->interpreter.get());
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
    // Bounded: a plugin that does not end in time is quarantined (retirement_p.h).
    return Retirement::begin(shared, interpreter, settleGeneration, quarantine);
}

QFuture<CallResult> PluginPrivate::whenEnded(const std::shared_ptr<Interpreter> &interpreter)
{
    return Retirement::watchEnd(shared, interpreter, quarantine); // bounded, like retire()
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
    d->shared->owner = this;
    static const int registered = qRegisterMetaType<PluginHost::PluginActivity>();
    Q_UNUSED(registered)
}

Plugin::~Plugin()
{
    std::shared_ptr<Interpreter> interpreter;
    {
        std::lock_guard lock(d->shared->mutex);
        d->shared->owner = nullptr;
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
        return failed ? d->whenEnded(failed) : readyFuture(CallResult());
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
    bool full = false;
    if (std::unique_ptr<Job> refused = post(shared, std::move(job), &full)) {
        refused->discard(Job::DiscardReason::Overloaded,
                         QStringLiteral("the mailbox of %1 is full (%2 calls and events waiting): it is not keeping up; try again later")
                             .arg(shared->metaData.id())
                             .arg(shared->mailboxCapacity));
    }
}

std::unique_ptr<Job> PluginPrivate::post(const std::shared_ptr<PluginShared> &shared, std::unique_ptr<Job> job, bool *full)
{
    QString reason;
    Job::DiscardReason refusal = Job::DiscardReason::Unloaded;
    {
        std::lock_guard lock(shared->mutex);
        if (shared->interpreter) {
            job = shared->interpreter->tryPost(std::move(job), &refusal);
        }
        if (job && refusal == Job::DiscardReason::Overloaded) {
            *full = true;
            return job;
        }
        if (job) {
            reason = shared->state == Plugin::State::Failed ? QStringLiteral("the plugin failed to load: %1").arg(shared->lastError.errorText())
                                                            : QStringLiteral("the plugin is not loaded; load it first");
        }
    }
    if (job) {
        job->discard(Job::DiscardReason::Unloaded, reason);
    }
    return nullptr;
}

PluginPrivate::PreparedCall
PluginPrivate::makeCall(const std::shared_ptr<PluginShared> &shared, const QString &function, const QVariantList &arguments, const CallOptions &options)
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
    return {makeCallJob(shared->metaData.id(), function, arguments, kind, std::move(promise), options.timeout), std::move(future)};
}

QFuture<QVariant> PluginPrivate::call(const std::shared_ptr<PluginShared> &shared, const QString &function, const QVariantList &arguments, const CallOptions &options)
{
    PreparedCall call = makeCall(shared, function, arguments, options);
    post(shared, std::move(call.job));
    return std::move(call.future);
}

void PluginShared::reportActivity(Interpreter *from, const Interpreter::Activity &reported)
{
    PluginActivity changed;
    changed.busySince = reported.busySince;
    changed.blockedSince = reported.blockedSince;
    changed.task = reported.task;
    std::lock_guard lock(mutex);
    if (!from || (interpreter.get() != from && failedInterpreter.get() != from) || activity == changed) {
        return; // a retired instance, or nothing new
    }
    activity = changed;
    if (owner) {
        QMetaObject::invokeMethod(
            owner,
            [plugin = owner, changed] {
                Q_EMIT plugin->activityChanged(changed);
            },
            Qt::QueuedConnection);
    }
}

QFuture<QVariant> Plugin::call(const QString &function, const QVariantList &arguments)
{
    return PluginPrivate::call(d->shared, function, arguments);
}

QFuture<QVariant> Plugin::call(const QString &function, const QVariantList &arguments, const CallOptions &options)
{
    return PluginPrivate::call(d->shared, function, arguments, options);
}

PluginActivity Plugin::activity() const
{
    std::lock_guard lock(d->shared->mutex);
    return d->shared->activity;
}

QDateTime Plugin::busySince() const
{
    return activity().busySince;
}

QDateTime Plugin::blockedSince() const
{
    return activity().blockedSince;
}

void Plugin::setBusyBudget(std::chrono::milliseconds budget)
{
    std::lock_guard lock(d->shared->mutex);
    d->shared->busyBudget = budget;
}

std::chrono::milliseconds Plugin::busyBudget() const
{
    std::lock_guard lock(d->shared->mutex);
    return d->shared->busyBudget;
}

void Plugin::setMailboxCapacity(int capacity)
{
    std::lock_guard lock(d->shared->mutex);
    d->shared->mailboxCapacity = capacity;
}

int Plugin::mailboxCapacity() const
{
    std::lock_guard lock(d->shared->mutex);
    return d->shared->mailboxCapacity;
}

QFuture<QString> Plugin::stackSnapshot(std::chrono::milliseconds wait)
{
    std::shared_ptr<Interpreter> interpreter;
    {
        std::lock_guard lock(d->shared->mutex);
        if (d->shared->state == State::Loaded || d->shared->state == State::Loading || d->shared->state == State::Unloading) {
            interpreter = d->shared->interpreter;
        }
    }
    if (!interpreter) {
        QPromise<QString> promise;
        promise.start();
        promise.setException(CallError(PluginError(PluginError::Kind::Unloaded, id(), QStringLiteral("no stack snapshot: the plugin is not loaded"))));
        promise.finish();
        return promise.future();
    }
    return interpreter->stackSnapshot(wait);
}

CallResult Plugin::callBlocking(const QString &function, const QVariantList &arguments, std::chrono::milliseconds timeout)
{
    if (onGuiThread()) {
        qCWarning(PLUGINHOST_PLUGINS) << "callBlocking() refused on the GUI thread for" << id() << function << "- use call()";
        return PluginError(PluginError::Kind::InvalidValue,
                           id(),
                           QStringLiteral("callBlocking(%1) was called on the GUI thread, which must never wait for a plugin; use call() and .then()").arg(function));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto [job, future] = PluginPrivate::makeCall(d->shared, function, arguments, CallOptions{timeout});
    // A full mailbox is waited on, until the deadline.
    bool full = false;
    while ((job = PluginPrivate::post(d->shared, std::move(job), &full))) {
        if (std::chrono::steady_clock::now() >= deadline) {
            job->discard(Job::DiscardReason::Overloaded,
                         QStringLiteral("the mailbox of %1 stayed full (%2 calls and events waiting) for %3 ms").arg(id()).arg(mailboxCapacity()).arg(timeout.count()));
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // No wait of our own with a timeout: the call has a deadline, and the supervisor ends it
    // there (or Supervisor::interruptGrace later when the plugin is blocked in C), whether it
    // is queued, running or stuck. fromFuture() waits on the future itself, which costs no
    // continuation: that was a fifth of a trivial call's round trip.
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
