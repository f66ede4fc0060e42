#include "pythonshim.h" // Python.h comes before any Qt header

#include "interpreter.h"
#include "runtime.h"
#include "runtime_p.h"
#include "supervisor.h"

#include "pluginhost_runtime_debug.h"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <QPromise>

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace PluginHost
{

Job::~Job() = default;

const std::shared_ptr<JobControl> &Job::control() const
{
    static const std::shared_ptr<JobControl> none;
    return none;
}
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
constexpr auto pendingCallRingAgainAfter = std::chrono::milliseconds(20);
} // namespace

std::unique_ptr<Job> Job::fromFunctions(Kind kind, std::function<int(Interpreter &)> run, std::function<void(DiscardReason, const QString &)> discard)
{
    return std::make_unique<FunctionJob>(kind, std::move(run), std::move(discard));
}

class InterpreterPrivate : public Supervisor::Watched
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
    bool runIdleHandler(std::unique_lock<std::mutex> &lock);
    int runUrgentJobs();
    void armPendingCall(); // mutex held
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
    quint64 pendingCallArmings = 0; // under `mutex`: the supervisor tells one arming from the next
    std::atomic<qint64> interpreterId{-1};
    std::atomic<bool> busy{false};
    std::atomic<bool> ownGil{true};
    std::vector<std::function<void()>> finishedCallbacks;

    // The idle hook (asyncio) and pluginhost.sleep(): flags under `mutex`.
    std::function<bool()> idleHandler; // interpreter thread only
    bool inIdleHandler = false; // post() and stop() write wakeDescriptor
    bool sleeping = false; // in Interpreter::sleep(): urgent jobs notify `wake`
    int wakeDescriptor = -1; // eventfd, made by idleWakeDescriptor()

    // What runningJob points at while a step of the plugin's asyncio loop runs Python.
    class LoopStep final : public Job
    {
    public:
        int run(Interpreter &) override
        {
            return 0; // never posted
        }
        void discard(DiscardReason, const QString &) override
        {
        }
        QString description() const override
        {
            return QStringLiteral("a task of the plugin's asyncio loop");
        }
    } loopStep;

    // Calls running as tasks of the asyncio loop (Interpreter::superviseTask()). Under `mutex`.
    struct SupervisedTask {
        std::shared_ptr<JobControl> control;
        std::optional<Supervisor::Clock::time_point> interruptedAt;
    };
    std::vector<SupervisedTask> supervisedTasks;

    // Supervision (supervisor.h). Under `mutex`, written by the interpreter's thread only.
    Job *runningJob = nullptr; // the job the loop runs, ordinary or not, or &loopStep
    quint64 runningSerial = 0; // counts the jobs the loop ran
    // Under `mutex`, written by the supervisor and by its probes.
    struct Watch {
        quint64 serial = 0; // the running job the supervisor saw last
        Supervisor::Clock::time_point since; // when it first saw it
        enum class Interrupt { None, Posted, Expired } interrupt = Interrupt::None;
        Supervisor::Clock::time_point interruptedAt;
        JobControl::Expiry interruptWhy = JobControl::Expiry::TimedOut;
        quint64 probes = 0; // probes posted
        bool probeOutstanding = false;
        Supervisor::Clock::time_point probedAt;
        QString lastSeen; // innermost frame at the last probe answered during `serial`, or empty
        Supervisor::Clock::time_point lastSeenAt;
        // The pending call the supervisor sees armed: since when (blocked, once it waited
        // blockedAfter), and when it last rang it (CPython 3.12 re-rings a stalled one).
        quint64 arming = 0;
        Supervisor::Clock::time_point armedSince;
        Supervisor::Clock::time_point rungAt;
        Interpreter::Activity activity;
    } watch;
    Supervisor::Clock::time_point supervise(Supervisor::Clock::time_point now, Supervisor::Actions &actions) override;
    QString blockedDetail(Supervisor::Clock::time_point now) const; // mutex held
    // Why a supervised task's call, interrupted at `interruptedAt`, was not answered. Mutex held.
    QString heldUpDetail(Supervisor::Clock::time_point now, Supervisor::Clock::time_point interruptedAt) const;
    template<typename PostUrgent>
    Supervisor::Clock::time_point superviseTasks(Supervisor::Clock::time_point now, Supervisor::Actions &actions, PostUrgent postUrgent); // mutex held
    bool runsJob(quint64 serial) const; // interpreter thread: inside job `serial`

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
    Supervisor::instance().watch(this); // never under `mutex`: the supervisor locks the other way round
    return true;
}

void InterpreterPrivate::loop()
{
    std::unique_ptr<Job> job;
    for (;;) {
        // The job that ran stops being the running one for the supervisor under the same lock
        // that takes the next one, and is destroyed outside it: one trip through the mailbox's
        // lock per job, which every post() takes too.
        std::unique_ptr<Job> ran = std::move(job);
        {
            std::unique_lock lock(mutex);
            runningJob = nullptr;
            if (urgentJobs.empty() && ordinaryJobs.empty()) {
                if (ran) {
                    lock.unlock();
                    continue; // destroys it before the thread waits or leaves
                }
                if (!accepting) {
                    return;
                }
                if (idleHandler && runIdleHandler(lock)) {
                    continue;
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
            runningJob = job.get();
            ++runningSerial;
        }
        ran.reset();
        Supervisor::arm();
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
    Supervisor::instance().forget(this);
    {
        std::lock_guard lock(mutex);
        supervisedTasks.clear(); // their watchers told their callers as the loop closed
    }
    if (watch.activity != Interpreter::Activity() && config.activityChanged) {
        config.activityChanged(Interpreter::Activity());
    }
    idleHandler = nullptr;
    context.reset(); // it may hold Python objects of this interpreter
    Py_EndInterpreter(threadState);
    if (wakeDescriptor >= 0) {
        ::close(std::exchange(wakeDescriptor, -1));
    }
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
        // Outside an ordinary job, Python runs here only inside the idle handler (a task of the
        // asyncio loop): an exception still has code to interrupt.
        if (runJob(*job, busy || inIdleHandler) < 0) {
            std::lock_guard lock(mutex);
            if (!urgentJobs.empty()) {
                armPendingCall();
            }
            return -1;
        }
    }
}

bool InterpreterPrivate::runIdleHandler(std::unique_lock<std::mutex> &lock)
{
    const std::function<bool()> handler = idleHandler; // it may remove itself
    inIdleHandler = true;
    lock.unlock();
    const bool ran = handler();
    lock.lock();
    inIdleHandler = false;
    if (wakeDescriptor >= 0) {
        eventfd_t count = 0;
        eventfd_read(wakeDescriptor, &count); // non-blocking: empties it, or finds it empty
    }
    return ran;
}

void InterpreterPrivate::armPendingCall()
{
    // No clock read here: this is on the path of every interrupt job, and the supervisor
    // times how long the call waits from the arming it first sees (a tick late at most).
    if (!alive || pendingCallArmed.exchange(true)) {
        return; // the loop picks the job up once the interpreter exists; or it is rung already
    }
    ++pendingCallArmings;
    if (!Shim::addPendingCall(interpreterState, &InterpreterPrivate::onPendingCall, this)) {
        pendingCallArmed = false;
        qCWarning(PLUGINHOST_RUNTIME) << "the pending-call queue of" << config.name
                                      << "is full; its interrupt jobs wait until the running call returns";
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
    Job::DiscardReason refusal = Job::DiscardReason::Unloaded;
    if (std::unique_ptr<Job> refused = tryPost(std::move(job), &refusal)) {
        if (refusal == Job::DiscardReason::Overloaded) {
            refused->discard(refusal, QStringLiteral("the mailbox of %1 is full (%2 jobs waiting)").arg(d->config.name).arg(d->config.mailboxCapacity));
            return false;
        }
        std::unique_lock lock(d->mutex);
        const auto reason = d->creationError.isEmpty() ? Job::DiscardReason::Unloaded : Job::DiscardReason::InterpreterFailed;
        lock.unlock();
        refused->discard(reason, rejectionReason());
        return false;
    }
    return true;
}

std::unique_ptr<Job> Interpreter::tryPost(std::unique_ptr<Job> job, Job::DiscardReason *refusal)
{
    bool wakeThread = false;
    int wakeDescriptor = -1;
    {
        std::lock_guard lock(d->mutex);
        if (!d->accepting) {
            if (refusal) {
                *refusal = Job::DiscardReason::Unloaded;
            }
            return job;
        }
        const bool urgent = job->kind() != Job::Kind::Ordinary;
        auto &queue = urgent ? d->urgentJobs : d->ordinaryJobs;
        if (d->config.mailboxCapacity > 0 && queue.size() >= size_t(d->config.mailboxCapacity)) {
            if (refusal) {
                *refusal = Job::DiscardReason::Overloaded;
            }
            return job;
        }
        queue.push_back(std::move(job));
        if (d->idle || (urgent && d->sleeping)) {
            wakeThread = true;
        } else if (urgent) {
            d->armPendingCall();
        }
        if (d->inIdleHandler) {
            wakeDescriptor = d->wakeDescriptor;
        }
    }
    // Outside the lock: a thread woken on this CPU would otherwise block on it at once.
    if (wakeThread) {
        d->wake.notify_one();
    }
    if (wakeDescriptor >= 0) {
        eventfd_write(wakeDescriptor, 1); // a late write only makes the idle handler look once more
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
    int wakeDescriptor = -1;
    {
        std::lock_guard lock(d->mutex);
        d->accepting = false;
        if (d->inIdleHandler) {
            wakeDescriptor = d->wakeDescriptor;
        }
    }
    d->wake.notify_one();
    if (wakeDescriptor >= 0) {
        eventfd_write(wakeDescriptor, 1);
    }
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

// --- asyncio and pluginhost.sleep() ----------------------------------------------------------

void Interpreter::setIdleHandler(std::function<bool()> handler)
{
    d->idleHandler = std::move(handler);
}

int Interpreter::idleWakeDescriptor()
{
    std::lock_guard lock(d->mutex);
    if (d->wakeDescriptor < 0) {
        d->wakeDescriptor = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->wakeDescriptor < 0) {
            qCWarning(PLUGINHOST_RUNTIME) << "no eventfd for the asyncio loop of" << d->config.name << ":" << strerror(errno);
        }
    }
    return d->wakeDescriptor;
}

int Interpreter::sleep(std::chrono::nanoseconds duration)
{
    const auto deadline = std::chrono::steady_clock::now() + duration;
    for (;;) {
        PyThreadState *saved = PyEval_SaveThread();
        std::unique_lock lock(d->mutex);
        d->sleeping = true;
        d->wake.wait_until(lock, deadline, [this] {
            return !d->urgentJobs.empty() || !d->accepting;
        });
        d->sleeping = false;
        const bool urgent = !d->urgentJobs.empty();
        const bool over = !d->accepting || std::chrono::steady_clock::now() >= deadline;
        lock.unlock(); // never wait for the GIL while holding the mailbox
        PyEval_RestoreThread(saved);
        if (urgent && d->runUrgentJobs() < 0) {
            return -1;
        }
        if (over) {
            return 0;
        }
    }
}

void Interpreter::loopStepStarted()
{
    {
        std::lock_guard lock(d->mutex);
        if (d->runningJob) {
            return; // a job runs the loop (an async on_load()): the job is what is supervised
        }
        d->runningJob = &d->loopStep;
        ++d->runningSerial;
    }
    d->busy = true;
    Supervisor::arm();
}

void Interpreter::loopStepEnded()
{
    std::lock_guard lock(d->mutex);
    if (d->runningJob == &d->loopStep) {
        d->runningJob = nullptr;
        d->busy = false;
    }
}

void Interpreter::superviseTask(std::shared_ptr<JobControl> control)
{
    {
        std::lock_guard lock(d->mutex);
        d->supervisedTasks.push_back({std::move(control), std::nullopt});
    }
    Supervisor::arm();
}

// --- supervision (supervisor.h) ----------------------------------------------------------------

namespace
{
using Clock = Supervisor::Clock;

qint64 millisecondsBetween(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

QDateTime wallClockOf(Clock::time_point then, Clock::time_point now)
{
    return QDateTime::currentDateTimeUtc().addMSecs(-millisecondsBetween(then, now));
}

// Raises the cancellation into job `serial`, if it is still the one running.
class InterruptJob : public Job
{
public:
    InterruptJob(InterpreterPrivate *interpreter, quint64 serial, std::shared_ptr<JobControl> control, JobControl::Expiry why)
        : Job(Kind::Interrupt)
        , m_interpreter(interpreter)
        , m_serial(serial)
        , m_control(std::move(control))
        , m_why(why)
    {
    }
    int run(Interpreter &) override
    {
        if (!m_interpreter->runsJob(m_serial)) {
            return 0; // it returned meanwhile
        }
        return m_control->interrupt(m_why, innermostPythonFrame());
    }
    void discard(DiscardReason, const QString &) override
    {
    }

private:
    InterpreterPrivate *const m_interpreter; // runs on its thread, which outlives its jobs
    const quint64 m_serial;
    const std::shared_ptr<JobControl> m_control;
    const JobControl::Expiry m_why;
};

// Notes the frame job `serial` runs at: what "blocked in C at …" reports later.
class ProbeJob : public Job
{
public:
    ProbeJob(InterpreterPrivate *interpreter, quint64 probe, quint64 serial)
        : Job(Kind::Interrupt)
        , m_interpreter(interpreter)
        , m_probe(probe)
        , m_serial(serial)
    {
    }
    int run(Interpreter &) override
    {
        const bool inside = m_interpreter->runsJob(m_serial);
        const QString frame = inside ? innermostPythonFrame() : QString();
        std::lock_guard lock(m_interpreter->mutex);
        auto &watch = m_interpreter->watch;
        if (watch.probes == m_probe) {
            watch.probeOutstanding = false;
        }
        if (inside && watch.serial == m_serial && !frame.isEmpty()) {
            watch.lastSeen = frame;
            watch.lastSeenAt = Clock::now();
        }
        return 0;
    }
    void discard(DiscardReason, const QString &) override
    {
    }

private:
    InterpreterPrivate *const m_interpreter;
    const quint64 m_probe;
    const quint64 m_serial;
};

class SnapshotControl : public JobControl
{
public:
    bool isCancelRequested() const override
    {
        return promise.isCanceled();
    }
    QString description() const override
    {
        return QStringLiteral("stack snapshot");
    }
    int interrupt(Expiry, const QString &) override
    {
        return 0;
    }
    void expire(Expiry why, const QString &detail) override
    {
        if (!settled.exchange(true)) {
            if (why == Expiry::TimedOut) {
                promise.addResult(detail);
            }
            promise.finish();
        }
    }
    void answer(const QString &text)
    {
        if (!settled.exchange(true)) {
            promise.addResult(text);
            promise.finish();
        }
    }

    QPromise<QString> promise;
    std::atomic<bool> settled{false};
};

class SnapshotJob : public Job
{
public:
    SnapshotJob(InterpreterPrivate *interpreter, std::shared_ptr<SnapshotControl> control)
        : Job(Kind::Interrupt)
        , m_interpreter(interpreter)
        , m_control(std::move(control))
    {
    }
    int run(Interpreter &) override;
    void discard(DiscardReason, const QString &detail) override
    {
        snapshot().answer(QStringLiteral("not running: %1").arg(detail));
    }
    const std::shared_ptr<JobControl> &control() const override
    {
        return m_control;
    }
    QString description() const override
    {
        return m_control->description();
    }

private:
    SnapshotControl &snapshot() const
    {
        return static_cast<SnapshotControl &>(*m_control);
    }

    InterpreterPrivate *const m_interpreter;
    const std::shared_ptr<JobControl> m_control; // a SnapshotControl
};
} // namespace

int SnapshotJob::run(Interpreter &)
{
    QString task;
    qint64 ranFor = 0;
    {
        std::lock_guard lock(m_interpreter->mutex);
        if (m_interpreter->runningJob == this) {
            snapshot().answer(QStringLiteral("idle"));
            return 0;
        }
        if (m_interpreter->runningJob) {
            task = m_interpreter->runningJob->description();
        }
        if (m_interpreter->watch.serial == m_interpreter->runningSerial) {
            ranFor = millisecondsBetween(m_interpreter->watch.since, Clock::now());
        }
    }
    const QString stack = formatPythonStack();
    snapshot().answer(QStringLiteral("%1 (running for about %2 ms), at:\n%3")
                          .arg(task.isEmpty() ? QStringLiteral("a job") : task)
                          .arg(ranFor)
                          .arg(stack.isEmpty() ? QStringLiteral("  (no Python frame)") : stack));
    return 0;
}

bool InterpreterPrivate::runsJob(quint64 serial) const
{
    return runningJob && runningSerial == serial && busy;
}

QString InterpreterPrivate::blockedDetail(Clock::time_point now) const
{
    const QString task = runningJob && !runningJob->description().isEmpty() ? runningJob->description() : QStringLiteral("its job");
    if (!watch.lastSeen.isEmpty()) {
        return QStringLiteral("blocked in C at %1 (last seen running Python there %2 ms ago, in %3)")
            .arg(watch.lastSeen)
            .arg(millisecondsBetween(watch.lastSeenAt, now))
            .arg(task);
    }
    return QStringLiteral("blocked in C (no Python frame seen since %1 started, %2 ms ago)").arg(task).arg(millisecondsBetween(watch.since, now));
}

QString InterpreterPrivate::heldUpDetail(Clock::time_point now, Clock::time_point interruptedAt) const
{
    if (!runningJob) {
        return QStringLiteral("the plugin's asyncio loop did not get to its task");
    }
    if (pendingCallArmed && watch.arming == pendingCallArmings && watch.armedSince <= interruptedAt) {
        return blockedDetail(now); // not even the interrupt ran
    }
    return QStringLiteral("%1 held the plugin's thread%2")
        .arg(runningJob->description().isEmpty() ? QStringLiteral("another job") : runningJob->description(),
             watch.lastSeen.isEmpty() ? QString() : QStringLiteral(" (last seen at %1)").arg(watch.lastSeen));
}

template<typename PostUrgent>
Clock::time_point InterpreterPrivate::superviseTasks(Clock::time_point now, Supervisor::Actions &actions, PostUrgent postUrgent)
{
    Clock::time_point next = Clock::time_point::max();
    std::erase_if(supervisedTasks, [&](SupervisedTask &task) {
        JobControl &control = *task.control;
        if (control.isSettled()) {
            return true;
        }
        const bool cancelled = control.isCancelRequested();
        if (!cancelled && control.deadline() > now) {
            if (control.hasDeadline()) {
                next = std::min(next, control.deadline());
            }
            return false;
        }
        const auto why = cancelled ? JobControl::Expiry::Cancelled : JobControl::Expiry::TimedOut;
        if (!task.interruptedAt) {
            task.interruptedAt = now;
            // Idle in its selector, the loop's own poll cancels the task; running, only an
            // interrupt reaches it.
            if (runningJob == &loopStep) {
                postUrgent(std::make_unique<InterruptJob>(this, runningSerial, task.control, why));
            }
            if (cancelled) {
                actions.expiries.push_back({task.control, nullptr, why, QString()}); // the caller learns at once
                return true;
            }
            next = std::min(next, now + Supervisor::interruptGrace);
            return false;
        }
        if (now - *task.interruptedAt < Supervisor::interruptGrace) {
            next = std::min(next, *task.interruptedAt + Supervisor::interruptGrace);
            return false;
        }
        actions.expiries.push_back({task.control, nullptr, why, heldUpDetail(now, *task.interruptedAt)});
        return true;
    });
    return next;
}

Clock::time_point InterpreterPrivate::supervise(Clock::time_point now, Supervisor::Actions &actions)
{
    std::lock_guard lock(mutex);
    if (!alive) {
        return Clock::time_point::max();
    }
    Clock::time_point armedSince = Clock::time_point::min();
    if (pendingCallArmed) {
        if (watch.arming != pendingCallArmings) {
            watch.arming = pendingCallArmings;
            watch.armedSince = now;
            watch.rungAt = now;
        }
        armedSince = watch.armedSince;
        if constexpr (Shim::pendingCallsMayStall) {
            if (!idle && !urgentJobs.empty() && now - watch.rungAt >= pendingCallRingAgainAfter) {
                watch.rungAt = now;
                Shim::addPendingCall(interpreterState, &InterpreterPrivate::onPendingCall, this);
            }
        }
    }
    Clock::time_point next = Clock::time_point::max();
    Clock::time_point busySince = Clock::time_point::min();
    Clock::time_point blockedSince = Clock::time_point::min();
    const auto postUrgent = [this](std::unique_ptr<Job> job) {
        urgentJobs.push_back(std::move(job));
        if (sleeping) {
            wake.notify_one();
        } else {
            armPendingCall();
        }
    };
    if (runningJob) {
        next = now + Supervisor::tick;
        if (watch.serial != runningSerial) {
            watch.serial = runningSerial;
            watch.since = now;
            watch.interrupt = Watch::Interrupt::None;
            watch.lastSeen.clear();
        }
        if (const std::shared_ptr<JobControl> &control = runningJob->control()) {
            if (watch.interrupt == Watch::Interrupt::None) {
                const bool cancelled = control->isCancelRequested();
                if (cancelled || control->deadline() <= now) {
                    const auto why = cancelled ? JobControl::Expiry::Cancelled : JobControl::Expiry::TimedOut;
                    postUrgent(std::make_unique<InterruptJob>(this, runningSerial, control, why));
                    watch.interrupt = Watch::Interrupt::Posted;
                    watch.interruptedAt = now;
                    watch.interruptWhy = why;
                    if (cancelled) {
                        actions.expiries.push_back({control, nullptr, why, QString()}); // the caller learns at once
                    }
                } else if (control->hasDeadline()) {
                    next = std::min(next, control->deadline());
                }
            } else if (watch.interrupt == Watch::Interrupt::Posted && now - watch.interruptedAt >= Supervisor::interruptGrace) {
                watch.interrupt = Watch::Interrupt::Expired;
                actions.expiries.push_back({control, nullptr, JobControl::Expiry::TimedOut, blockedDetail(now)});
            } else if (watch.interrupt == Watch::Interrupt::Expired && !pendingCallArmed && now - watch.interruptedAt >= Supervisor::interruptGrace) {
                // The interrupt ran, yet the job goes on in Python (it caught Cancelled, or its
                // error's own __str__ loops while it is reported): raise it again.
                postUrgent(std::make_unique<InterruptJob>(this, runningSerial, control, watch.interruptWhy));
                watch.interruptedAt = now;
            }
        }
        if (now - watch.since >= Supervisor::probeInterval && !watch.probeOutstanding && now - watch.probedAt >= Supervisor::probeInterval) {
            watch.probeOutstanding = true;
            watch.probedAt = now;
            postUrgent(std::make_unique<ProbeJob>(this, ++watch.probes, runningSerial));
        }
        if (now - watch.since >= config.busyBudget) {
            busySince = watch.since;
        }
        if (armedSince != Clock::time_point::min() && !sleeping && armedSince + Supervisor::blockedAfter <= now) {
            blockedSince = armedSince;
        }

        // Queued jobs whose caller gave up or whose deadline passed, once the running job has
        // held the queue up for a tick: a queue that moves meets them as it starts them
        // (CallJob::run() checks for cancel, and this look for the running job's deadline),
        // and walking 100,000 queued calls under the mailbox's lock every tick halved the
        // calls a plugin could take per second.
        bool dropped = false;
        const bool queueHeldUp = now - watch.since >= Supervisor::tick;
        for (auto *queue : {&urgentJobs, &ordinaryJobs}) {
            if (!queueHeldUp) {
                break;
            }
            for (std::unique_ptr<Job> &job : *queue) {
                const JobControl *control = job->control().get();
                if (!control) {
                    continue;
                }
                const bool cancelled = control->isCancelRequested();
                if (!cancelled && control->deadline() > now) {
                    if (control->hasDeadline()) {
                        next = std::min(next, control->deadline());
                    }
                    continue;
                }
                QString detail;
                if (!cancelled) {
                    detail = job->kind() == Job::Kind::Ordinary ? QStringLiteral("still queued behind %1, which has run for %2 ms")
                                                                      .arg(runningJob->description().isEmpty() ? QStringLiteral("another job") : runningJob->description())
                                                                      .arg(millisecondsBetween(watch.since, now))
                                                                : blockedDetail(now);
                }
                actions.expiries.push_back({nullptr, std::move(job), cancelled ? JobControl::Expiry::Cancelled : JobControl::Expiry::TimedOut, detail});
                dropped = true;
            }
            if (dropped) {
                std::erase_if(*queue, [](const std::unique_ptr<Job> &job) {
                    return !job;
                });
            }
        }
    }

    if (!supervisedTasks.empty()) {
        next = std::min(next, superviseTasks(now, actions, postUrgent));
    }

    const bool busyChanged = (busySince == Clock::time_point::min()) != !watch.activity.busySince.isValid();
    const bool blockedChanged = (blockedSince == Clock::time_point::min()) != !watch.activity.blockedSince.isValid();
    if (busyChanged || blockedChanged) {
        Interpreter::Activity activity;
        if (busySince != Clock::time_point::min()) {
            activity.busySince = busyChanged ? wallClockOf(busySince, now) : watch.activity.busySince;
        }
        if (blockedSince != Clock::time_point::min()) {
            activity.blockedSince = blockedChanged ? wallClockOf(blockedSince, now) : watch.activity.blockedSince;
        }
        if (runningJob && (activity.busySince.isValid() || activity.blockedSince.isValid())) {
            activity.task = runningJob->description();
        }
        watch.activity = activity;
        if (config.activityChanged) {
            actions.notifications.push_back([callback = config.activityChanged, activity] {
                callback(activity);
            });
        }
    }
    return next;
}

Interpreter::Activity Interpreter::activity() const
{
    std::lock_guard lock(d->mutex);
    return d->watch.activity;
}

QFuture<QString> Interpreter::stackSnapshot(std::chrono::milliseconds wait)
{
    auto control = std::make_shared<SnapshotControl>();
    control->promise.start();
    control->setDeadline(Clock::now() + wait);
    QFuture<QString> future = control->promise.future();
    if (std::unique_ptr<Job> refused = tryPost(std::make_unique<SnapshotJob>(d.get(), control))) {
        refused->discard(Job::DiscardReason::Unloaded, rejectionReason());
    }
    return future;
}

} // namespace PluginHost
