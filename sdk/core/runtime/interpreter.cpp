#include "pythonshim.h" // Python.h comes before any Qt header

#include "interpreter.h"
#include "runtime.h"
#include "runtime_p.h"

#include "pluginhost_runtime_debug.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

namespace PluginHost
{

Job::~Job() = default;
InterpreterContext::~InterpreterContext() = default;

namespace
{
class FunctionJob : public Job
{
public:
    FunctionJob(Kind kind, std::function<int(Interpreter &)> run, std::function<void(DiscardReason, const QString &)> discard)
        : Job(kind)
        , m_run(std::move(run))
        , m_discard(std::move(discard))
    {
    }
    int run(Interpreter &interpreter) override
    {
        return m_run(interpreter);
    }
    void discard(DiscardReason reason, const QString &detail) override
    {
        if (m_discard) {
            m_discard(reason, detail);
        }
    }

private:
    std::function<int(Interpreter &)> m_run;
    std::function<void(DiscardReason, const QString &)> m_discard;
};

thread_local Interpreter *t_current = nullptr;

constexpr int unknownGil = -2; // not read back from CPython yet

// How long a pending call may stay unrun before the doorbell rings again (CPython 3.12 only).
constexpr qint64 pendingCallRearmAfterNs = 20'000'000;

qint64 monotonicNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
/*
 * CPython 3.12 occasionally leaves a pending call unrun until another one is added
 * (shared/BASELINE.md). While any interpreter has an armed doorbell, this thread re-rings
 * the ones that stayed unanswered for longer than pendingCallRearmAfterNs.
 */
class DoorbellWatchdog
{
public:
    static DoorbellWatchdog &instance()
    {
        static auto *watchdog = new DoorbellWatchdog; // its thread outlives static destruction
        return *watchdog;
    }
    void watch(InterpreterPrivate *interpreter);
    void forget(InterpreterPrivate *interpreter);

private:
    void run();
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<InterpreterPrivate *> m_watched;
    bool m_running = false;
};
} // namespace

std::unique_ptr<Job> Job::fromFunctions(Kind kind, std::function<int(Interpreter &)> run, std::function<void(DiscardReason, const QString &)> discard)
{
    return std::make_unique<FunctionJob>(kind, std::move(run), std::move(discard));
}

class InterpreterPrivate
{
public:
    InterpreterPrivate(Interpreter *interpreter, const Interpreter::Config &config)
        : q(interpreter)
        , config(config)
    {
    }

    void threadMain();
    bool create();
    void loop();
    void teardown();
    int runJob(Job &job, bool nested);
    int runUrgentJobs();
    void armPendingCall(); // mutex held
    void rearmIfStalled();
    void discardAll(std::unique_lock<std::mutex> &lock, Job::DiscardReason reason, const QString &detail);
    static int onPendingCall(void *argument);

    Interpreter *const q;
    const Interpreter::Config config;

    mutable std::mutex mutex;
    std::condition_variable wake;
    std::condition_variable finishedChanged;
    std::deque<std::unique_ptr<Job>> ordinaryJobs;
    std::deque<std::unique_ptr<Job>> urgentJobs;
    bool accepting = true;
    bool alive = false; // the CPython interpreter exists: pending calls may be added
    bool idle = false; // the thread waits on `wake`, GIL released
    bool finished = false;
    QString creationError;

    std::atomic<bool> pendingCallArmed{false};
    std::atomic<qint64> pendingCallArmedAt{0};
    std::atomic<qint64> interpreterId{-1};
    std::atomic<bool> busy{false};
    std::atomic<bool> ownGil{true};
    std::vector<std::function<void()>> finishedCallbacks;

    // Interpreter thread only.
    std::shared_ptr<InterpreterContext> context;
    PyThreadState *threadState = nullptr;
    PyInterpreterState *interpreterState = nullptr;
};

void InterpreterPrivate::threadMain()
{
    const QByteArray threadName = QStringLiteral("py:%1").arg(config.name).toUtf8().left(15);
    pthread_setname_np(pthread_self(), threadName.constData());

    if (create()) {
        t_current = q;
        loop();
        teardown();
        t_current = nullptr;
    }
    // Count the interpreter gone before telling anyone: a caller that then shuts the
    // runtime down must find no live interpreter.
    RuntimeInternal::interpreterFinished();
    std::vector<std::function<void()>> callbacks;
    {
        std::lock_guard lock(mutex);
        finished = true;
        callbacks = std::move(finishedCallbacks);
    }
    finishedChanged.notify_all();
    for (const auto &callback : callbacks) {
        callback();
    }
}

bool InterpreterPrivate::create()
{
    if (!Runtime::instance()) {
        std::unique_lock lock(mutex);
        creationError = QStringLiteral("the CPython runtime did not start (see the pluginhost.runtime log)");
        discardAll(lock, Job::DiscardReason::InterpreterFailed, creationError);
        return false;
    }

    const bool shared = config.isolation == Interpreter::Isolation::SharedGil;
    PyInterpreterConfig interpreterConfig = {};
    interpreterConfig.use_main_obmalloc = shared ? 1 : 0;
    interpreterConfig.allow_fork = 0;
    interpreterConfig.allow_exec = config.allowExec ? 1 : 0;
    interpreterConfig.allow_threads = 1;
    interpreterConfig.allow_daemon_threads = 0;
    interpreterConfig.check_multi_interp_extensions = shared ? 0 : 1;
    interpreterConfig.gil = shared ? PyInterpreterConfig_SHARED_GIL : PyInterpreterConfig_OWN_GIL;

    PyThreadState *created = nullptr;
    PyStatus status;
    {
        std::lock_guard creation(RuntimeInternal::creationMutex());
        status = Py_NewInterpreterFromConfig(&created, &interpreterConfig);
    }
    if (PyStatus_Exception(status) || !created) {
        std::unique_lock lock(mutex);
        creationError = QStringLiteral("could not create a Python interpreter for %1: %2")
                            .arg(config.name, QString::fromUtf8(status.err_msg ? status.err_msg : "out of memory"));
        qCWarning(PLUGINHOST_RUNTIME).noquote() << creationError;
        discardAll(lock, Job::DiscardReason::InterpreterFailed, creationError);
        return false;
    }

    // Py_NewInterpreterFromConfig returns with the new thread state attached and its GIL held.
    threadState = created;
    interpreterState = PyThreadState_GetInterpreter(created);
    interpreterId = PyInterpreterState_GetID(interpreterState);
    // Read back once per isolation level and process: the same configuration always yields the
    // same GIL, and the read-back imports _interpreters (~0.3 ms, and a module in sys.modules).
    static std::atomic<int> observedOwnGil[2] = {unknownGil, unknownGil};
    std::atomic<int> &observed = observedOwnGil[shared ? 1 : 0];
    if (observed == unknownGil) {
        observed = Shim::currentInterpreterHasOwnGil();
    }
    ownGil = observed < 0 ? !shared : observed == 1;
    {
        std::lock_guard lock(mutex);
        alive = true;
    }
    if constexpr (Shim::pendingCallsMayStall) {
        DoorbellWatchdog::instance().watch(this); // never under `mutex`: the watchdog locks the other way round
    }
    return true;
}

void InterpreterPrivate::loop()
{
    for (;;) {
        std::unique_ptr<Job> job;
        {
            std::unique_lock lock(mutex);
            if (urgentJobs.empty() && ordinaryJobs.empty()) {
                if (!accepting) {
                    return;
                }
                idle = true;
                PyThreadState *saved = PyEval_SaveThread();
                wake.wait(lock, [this] {
                    return !urgentJobs.empty() || !ordinaryJobs.empty() || !accepting;
                });
                idle = false;
                lock.unlock(); // never wait for the GIL while holding the mailbox
                PyEval_RestoreThread(saved);
                continue;
            }
            auto &queue = urgentJobs.empty() ? ordinaryJobs : urgentJobs;
            job = std::move(queue.front());
            queue.pop_front();
        }
        runJob(*job, false);
    }
}

void InterpreterPrivate::teardown()
{
    {
        std::lock_guard lock(mutex);
        alive = false;
        accepting = false;
    }
    if constexpr (Shim::pendingCallsMayStall) {
        DoorbellWatchdog::instance().forget(this);
    }
    context.reset(); // it may hold Python objects of this interpreter
    Py_EndInterpreter(threadState);
    threadState = nullptr;
    interpreterState = nullptr;
}

int InterpreterPrivate::runJob(Job &job, bool nested)
{
    if (!nested) {
        busy = true;
    }
    int result = job.run(*q);
    if (result < 0 && !nested) {
        // Nothing to interrupt at the top level: the job should have reported this itself.
        qCWarning(PLUGINHOST_RUNTIME) << "a job for" << config.name << "raised outside any running code";
        PyErr_Clear();
        result = 0;
    } else if (result == 0 && PyErr_Occurred()) {
        qCWarning(PLUGINHOST_RUNTIME) << "a job for" << config.name << "left a Python exception set";
        PyErr_Clear();
    }
    if (!nested) {
        busy = false;
    }
    return result;
}

int InterpreterPrivate::runUrgentJobs()
{
    for (;;) {
        std::unique_ptr<Job> job;
        {
            std::lock_guard lock(mutex);
            if (urgentJobs.empty()) {
                return 0;
            }
            job = std::move(urgentJobs.front());
            urgentJobs.pop_front();
        }
        if (runJob(*job, busy) < 0) {
            std::lock_guard lock(mutex);
            if (!urgentJobs.empty()) {
                armPendingCall();
            }
            return -1;
        }
    }
}

void InterpreterPrivate::armPendingCall()
{
    if (!alive) {
        return; // the loop picks the job up once the interpreter exists
    }
    const qint64 now = monotonicNs();
    if (pendingCallArmed.exchange(true)) {
        if (!Shim::pendingCallsMayStall || now - pendingCallArmedAt.load() < pendingCallRearmAfterNs) {
            return;
        }
    }
    pendingCallArmedAt = now;
    if (!Shim::addPendingCall(interpreterState, &InterpreterPrivate::onPendingCall, this)) {
        pendingCallArmed = false;
        qCWarning(PLUGINHOST_RUNTIME) << "the pending-call queue of" << config.name
                                      << "is full; its interrupt jobs wait until the running call returns";
    }
}

void InterpreterPrivate::rearmIfStalled()
{
    std::lock_guard lock(mutex);
    if (pendingCallArmed && !idle && !urgentJobs.empty()) {
        armPendingCall(); // re-rings only once the call has waited pendingCallRearmAfterNs
    }
}

void DoorbellWatchdog::watch(InterpreterPrivate *interpreter)
{
    std::lock_guard lock(m_mutex);
    m_watched.push_back(interpreter);
    m_changed.notify_one();
    if (!m_running) {
        m_running = true;
        std::thread([this] {
            run();
        }).detach();
    }
}

void DoorbellWatchdog::forget(InterpreterPrivate *interpreter)
{
    std::lock_guard lock(m_mutex);
    std::erase(m_watched, interpreter);
}

void DoorbellWatchdog::run()
{
    pthread_setname_np(pthread_self(), "py:doorbell");
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_changed.wait(lock, [this] {
            return !m_watched.empty();
        });
        m_changed.wait_for(lock, std::chrono::nanoseconds(pendingCallRearmAfterNs));
        // An interpreter leaves the list (under this mutex) before it is destroyed.
        for (InterpreterPrivate *interpreter : m_watched) {
            interpreter->rearmIfStalled();
        }
    }
}

int InterpreterPrivate::onPendingCall(void *argument)
{
    auto *d = static_cast<InterpreterPrivate *>(argument);
    d->pendingCallArmed = false;
    if (PyThreadState_Get() != d->threadState) {
        // A thread the plugin started picked the call up, but only the interpreter's own
        // thread runs jobs: ring again so that it gets its turn.
        std::lock_guard lock(d->mutex);
        if (!d->idle && !d->urgentJobs.empty()) {
            d->armPendingCall();
        }
        return 0;
    }
    return d->runUrgentJobs();
}

void InterpreterPrivate::discardAll(std::unique_lock<std::mutex> &lock, Job::DiscardReason reason, const QString &detail)
{
    accepting = false;
    std::deque<std::unique_ptr<Job>> jobs = std::move(urgentJobs);
    for (auto &job : ordinaryJobs) {
        jobs.push_back(std::move(job));
    }
    ordinaryJobs.clear();
    lock.unlock();
    for (auto &job : jobs) {
        job->discard(reason, detail);
    }
    lock.lock();
}

Interpreter::Interpreter(const Config &config)
    : d(new InterpreterPrivate(this, config))
{
}

Interpreter::~Interpreter() = default;

std::shared_ptr<Interpreter> Interpreter::start(const Config &config)
{
    std::shared_ptr<Interpreter> interpreter(new Interpreter(config));
    RuntimeInternal::interpreterStarted();
    // The thread owns a reference until it has ended the CPython interpreter.
    std::thread([self = interpreter] {
        self->d->threadMain();
    }).detach();
    return interpreter;
}

bool Interpreter::post(std::unique_ptr<Job> job)
{
    if (std::unique_ptr<Job> refused = tryPost(std::move(job))) {
        std::unique_lock lock(d->mutex);
        const auto reason = d->creationError.isEmpty() ? Job::DiscardReason::Unloaded : Job::DiscardReason::InterpreterFailed;
        lock.unlock();
        refused->discard(reason, rejectionReason());
        return false;
    }
    return true;
}

std::unique_ptr<Job> Interpreter::tryPost(std::unique_ptr<Job> job)
{
    bool wakeThread = false;
    {
        std::lock_guard lock(d->mutex);
        if (!d->accepting) {
            return job;
        }
        const bool urgent = job->kind() != Job::Kind::Ordinary;
        (urgent ? d->urgentJobs : d->ordinaryJobs).push_back(std::move(job));
        if (d->idle) {
            wakeThread = true;
        } else if (urgent) {
            d->armPendingCall();
        }
    }
    // Outside the lock: a thread woken on this CPU would otherwise block on it at once.
    if (wakeThread) {
        d->wake.notify_one();
    }
    return nullptr;
}

QString Interpreter::rejectionReason() const
{
    std::lock_guard lock(d->mutex);
    return d->creationError.isEmpty() ? QStringLiteral("%1 is unloading").arg(d->config.name) : d->creationError;
}

void Interpreter::stop()
{
    {
        std::lock_guard lock(d->mutex);
        d->accepting = false;
    }
    d->wake.notify_one();
}

bool Interpreter::wait(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(d->mutex);
    return d->finishedChanged.wait_for(lock, timeout, [this] {
        return d->finished;
    });
}

std::deque<std::unique_ptr<Job>> Interpreter::takeQueuedJobs()
{
    std::lock_guard lock(d->mutex);
    return std::exchange(d->ordinaryJobs, {});
}

qint64 Interpreter::id() const
{
    return d->interpreterId;
}

Interpreter::Isolation Interpreter::isolation() const
{
    return d->config.isolation;
}

QString Interpreter::name() const
{
    return d->config.name;
}

QString Interpreter::creationError() const
{
    std::lock_guard lock(d->mutex);
    return d->creationError;
}

bool Interpreter::isBusy() const
{
    return d->busy;
}

bool Interpreter::isFinished() const
{
    std::lock_guard lock(d->mutex);
    return d->finished;
}

void Interpreter::whenFinished(std::function<void()> callback)
{
    {
        std::lock_guard lock(d->mutex);
        if (!d->finished) {
            d->finishedCallbacks.push_back(std::move(callback));
            return;
        }
    }
    callback();
}

Interpreter *Interpreter::current()
{
    return t_current;
}

PyThreadState *Interpreter::threadState() const
{
    return d->threadState;
}

Interpreter::Isolation Interpreter::gil() const
{
    return d->ownGil ? Isolation::OwnGil : Isolation::SharedGil;
}

void Interpreter::setContext(std::shared_ptr<InterpreterContext> context)
{
    d->context = std::move(context);
}

InterpreterContext *Interpreter::context() const
{
    return d->context.get();
}

} // namespace PluginHost
