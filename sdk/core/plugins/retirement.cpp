#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "retirement_p.h"

#include "module/audithook.h"
#include "module/module.h"
#include "pluginjobs.h"
#include "runtime/pyref.h"
#include "runtime/runtime_p.h"

#include "pluginhost_plugins_debug.h"

#include <QPromise>

#include <algorithm>
#include <condition_variable>
#include <thread>
#include <vector>

#include <pthread.h>

namespace PluginHost
{

UnloadTimeouts QuarantineBook::timeouts() const
{
    std::lock_guard lock(m_mutex);
    return m_timeouts;
}

void QuarantineBook::setTimeouts(const UnloadTimeouts &timeouts)
{
    std::lock_guard lock(m_mutex);
    m_timeouts = timeouts;
}

QList<QuarantinedPlugin> QuarantineBook::entries() const
{
    QList<QuarantinedPlugin> entries;
    std::lock_guard lock(m_mutex);
    for (const auto &entry : m_entries) {
        entries.append(entry.second);
    }
    return entries;
}

void QuarantineBook::add(const void *token, const QuarantinedPlugin &entry)
{
    std::lock_guard lock(m_mutex);
    m_entries.append({token, entry});
}

void QuarantineBook::remove(const void *token)
{
    std::lock_guard lock(m_mutex);
    m_entries.removeIf([token](const auto &entry) {
        return entry.first == token;
    });
}

QString describeDuration(std::chrono::milliseconds duration)
{
    if (duration.count() % 1000 == 0) {
        return QStringLiteral("%1 s").arg(duration.count() / 1000);
    }
    return QStringLiteral("%1 ms").arg(duration.count());
}

/*
 * One thread for every retirement of the process: it sleeps until the earliest deadline and
 * acts there. Never destroyed: a retirement may outlive static destruction.
 */
class RetirementWatch
{
public:
    static RetirementWatch &instance()
    {
        static auto *watch = new RetirementWatch;
        return *watch;
    }

    // Watches `retirement` from now on; `due` is the first moment it may need the watch.
    void add(std::shared_ptr<Retirement> retirement, Retirement::Clock::time_point due)
    {
        {
            std::lock_guard lock(m_mutex);
            m_watched.push_back(std::move(retirement));
            if (!m_running) {
                m_running = true;
                std::thread([this] {
                    run();
                }).detach();
            }
        }
        poke(due);
    }

    /*
     * A retirement moved on and may need the watch from `due` on. The thread is woken only
     * when it would sleep past that: an unload moves through four phases in a millisecond, and
     * a wake-up at each of them competed with the unloading thread for the CPUs (unload_ms in
     * tests/benchmarks went from 1.18 to 1.13 ms without them, on two CPUs).
     */
    void poke(Retirement::Clock::time_point due)
    {
        bool wake = false;
        {
            std::lock_guard lock(m_mutex);
            ++m_pokes; // a pass under way looks again
            wake = m_sleeping && due < m_sleepingUntil;
        }
        if (wake) {
            m_changed.notify_one();
        }
    }

    // `retirement` needs the watch no more (its interpreter ended): dropped without a wake-up.
    void forget(const Retirement *retirement)
    {
        std::lock_guard lock(m_mutex);
        std::erase_if(m_watched, [retirement](const std::shared_ptr<Retirement> &watched) {
            return watched.get() == retirement;
        });
    }

private:
    void run()
    {
        pthread_setname_np(pthread_self(), "py:retirement");
        std::unique_lock lock(m_mutex);
        for (;;) {
            const quint64 pokes = m_pokes;
            std::vector<std::shared_ptr<Retirement>> watched = m_watched;
            lock.unlock(); // retirements finish futures, whose continuations may begin new ones
            auto next = Retirement::Clock::time_point::max();
            std::vector<Retirement *> done;
            for (const auto &retirement : watched) {
                if (const auto due = retirement->check(Retirement::Clock::now())) {
                    next = std::min(next, *due);
                } else {
                    done.push_back(retirement.get());
                }
            }
            watched.clear();
            lock.lock();
            std::erase_if(m_watched, [&done](const std::shared_ptr<Retirement> &retirement) {
                return std::find(done.cbegin(), done.cend(), retirement.get()) != done.cend();
            });
            m_sleeping = true;
            m_sleepingUntil = next;
            m_changed.wait_until(lock, next, [this, pokes] {
                return m_pokes != pokes;
            });
            m_sleeping = false;
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<std::shared_ptr<Retirement>> m_watched;
    quint64 m_pokes = 0;
    bool m_running = false;
    bool m_sleeping = false; // in wait_until(m_sleepingUntil)
    Retirement::Clock::time_point m_sleepingUntil;
};

Retirement::Retirement(const std::shared_ptr<PluginShared> &shared,
                       const std::shared_ptr<Interpreter> &interpreter,
                       std::optional<quint64> settleGeneration,
                       const std::shared_ptr<QuarantineBook> &book)
    : m_shared(shared)
    , m_interpreter(interpreter)
    , m_settleGeneration(settleGeneration)
    , m_book(book)
    , m_timeouts(book ? book->timeouts() : UnloadTimeouts())
    , m_pluginId(shared->metaData.id())
    , m_started(Clock::now())
    , m_promise(std::make_shared<QPromise<CallResult>>())
    , m_phaseStarted(m_started)
{
}

QFuture<CallResult> Retirement::begin(const std::shared_ptr<PluginShared> &shared,
                                      const std::shared_ptr<Interpreter> &interpreter,
                                      std::optional<quint64> settleGeneration,
                                      const std::shared_ptr<QuarantineBook> &book)
{
    std::shared_ptr<Retirement> retirement(new Retirement(shared, interpreter, settleGeneration, book));
    retirement->m_promise->start();
    QFuture<CallResult> future = retirement->m_promise->future();
    // Not stopped yet: the watch may still have to post an interrupt. The unload job stops it.
    interpreter->post(makeUnloadJob(shared, retirement));
    RetirementWatch::instance().add(retirement, retirement->deadline());
    interpreter->whenFinished([retirement] {
        retirement->interpreterEnded();
    });
    return future;
}

QFuture<CallResult> Retirement::watchEnd(const std::shared_ptr<PluginShared> &shared,
                                         const std::shared_ptr<Interpreter> &interpreter,
                                         const std::shared_ptr<QuarantineBook> &book)
{
    std::shared_ptr<Retirement> retirement(new Retirement(shared, interpreter, std::nullopt, book));
    retirement->m_promise->start();
    retirement->m_phase = Phase::Ending;
    retirement->m_failedLoad = true;
    QFuture<CallResult> future = retirement->m_promise->future();
    RetirementWatch::instance().add(retirement, retirement->deadline());
    interpreter->whenFinished([retirement] {
        retirement->interpreterEnded();
    });
    return future;
}

bool Retirement::enter(Phase phase)
{
    Clock::time_point due;
    {
        std::lock_guard lock(m_mutex);
        if (m_quarantined) {
            return false;
        }
        m_phase = phase;
        m_phaseStarted = Clock::now();
        m_cancelledAt.reset();
        m_cancelLanded.clear();
        m_insideC.clear();
        due = phaseDeadline();
    }
    RetirementWatch::instance().poke(due);
    return true;
}

Retirement::Clock::time_point Retirement::deadline() const
{
    std::lock_guard lock(m_mutex);
    return phaseDeadline();
}

Retirement::Clock::time_point Retirement::phaseDeadline() const
{
    switch (m_phase) {
    case Phase::Queued:
    case Phase::OnUnload:
        return m_phaseStarted + m_timeouts.onUnload;
    case Phase::Threads:
        // The unload job bounds its own wait; this catches a thread that holds the GIL in C.
        return m_phaseStarted + m_timeouts.threads + 3 * m_timeouts.cancelGrace;
    case Phase::Ending:
        // Py_EndInterpreter() waits for threads left over without limit: act on them at once.
        return m_threadsLeft.isEmpty() ? m_phaseStarted + m_timeouts.threads + m_timeouts.cancelGrace : m_phaseStarted;
    case Phase::Ended:
        break;
    }
    return Clock::time_point::max();
}

bool Retirement::isQuarantined() const
{
    std::lock_guard lock(m_mutex);
    return m_quarantined;
}

void Retirement::setResult(const CallResult &result)
{
    std::lock_guard lock(m_mutex);
    if (!m_quarantined) {
        m_result = result;
        m_onUnloadReturned = true;
    }
}

void Retirement::setThreadsLeft(const QStringList &threads)
{
    std::lock_guard lock(m_mutex);
    m_threadsLeft = threads;
}

void Retirement::setInsideC(const QString &where)
{
    std::lock_guard lock(m_mutex);
    m_insideC = where;
}

std::optional<Retirement::Clock::time_point> Retirement::check(Clock::time_point now)
{
    enum class Action { None, Interrupt, Quarantine };
    Action action = Action::None;
    Phase phase = Phase::Queued;
    QString reason;
    std::optional<Clock::time_point> next;
    {
        std::lock_guard lock(m_mutex);
        if (m_quarantined || m_completed || m_phase == Phase::Ended) {
            return std::nullopt;
        }
        phase = m_phase;
        QString what = QStringLiteral("on_unload()");
        if (phase == Phase::Queued) {
            const QString task = m_interpreter->activity().task;
            what = task.isEmpty() ? QStringLiteral("a call (or the load) still running when the unload began")
                                  : QStringLiteral("%1, still running when the unload began,").arg(task);
        }
        switch (phase) {
        case Phase::Queued:
        case Phase::OnUnload:
            if (!m_cancelledAt) {
                const auto due = phaseDeadline();
                if (now < due) {
                    return due;
                }
                m_cancelledAt = now;
                action = Action::Interrupt;
                next = now + m_timeouts.cancelGrace;
            } else if (const auto due = *m_cancelledAt + m_timeouts.cancelGrace; now < due) {
                return due;
            } else {
                action = Action::Quarantine;
                reason = QStringLiteral("%1 did not return within %2").arg(what, describeDuration(m_timeouts.onUnload));
                if (!m_cancelLanded.isEmpty()) {
                    reason += QStringLiteral("; pluginhost.Cancelled interrupted it at %1, but it went on").arg(m_cancelLanded);
                } else if (!m_insideC.isEmpty()) {
                    reason += QStringLiteral("; blocked in C in %1").arg(m_insideC);
                } else if (const QString snapshot = finishedSnapshot(); snapshot.startsWith(QLatin1String("blocked in C"))) {
                    reason += QStringLiteral("; ") + snapshot.section(QLatin1Char('\n'), 0, 0);
                } else {
                    reason += QStringLiteral("; blocked in C, where pluginhost.Cancelled cannot reach it");
                }
            }
            break;
        case Phase::Threads:
            if (const auto due = phaseDeadline(); now < due) {
                return due;
            }
            action = Action::Quarantine;
            reason = QStringLiteral("waiting for its threads to end took longer than %1; one of them may hold the GIL in C")
                         .arg(describeDuration(m_timeouts.threads + 3 * m_timeouts.cancelGrace));
            break;
        case Phase::Ending:
            if (!m_threadsLeft.isEmpty()) {
                // Py_EndInterpreter() waits for them without limit.
                action = Action::Quarantine;
                reason = QStringLiteral("its thread%1 %2 did not end within %3, not even after pluginhost.Cancelled")
                             .arg(m_threadsLeft.size() == 1 ? QString() : QStringLiteral("s"), m_threadsLeft.join(QLatin1String(", ")), describeDuration(m_timeouts.threads));
            } else if (const auto due = phaseDeadline(); now < due) {
                return due;
            } else {
                action = Action::Quarantine;
                reason = QStringLiteral("its interpreter did not end within %1 after %2 (a thread of the plugin, an atexit handler, a finalizer?)")
                             .arg(describeDuration(m_timeouts.threads + m_timeouts.cancelGrace),
                                  m_failedLoad ? QStringLiteral("its load failed") : QStringLiteral("on_unload() returned"));
            }
            break;
        case Phase::Ended:
            return std::nullopt;
        }
        if (action == Action::Quarantine) {
            // Registered under the lock: the thread may return at any moment and unregister it.
            m_quarantined = true;
            m_completed = true;
            m_interpreterId = m_interpreter->id();
            RuntimeInternal::interpreterAbandoned(m_interpreter.get(), m_pluginId, reason);
            if (m_book) {
                m_book->add(m_interpreter.get(), QuarantinedPlugin{m_pluginId, m_interpreterId, QDateTime::currentDateTimeUtc(), reason});
            }
        }
    }

    if (action == Action::Interrupt) {
        interrupt(phase);
        // For the quarantine message, should Cancelled not help: where the supervisor saw it.
        QFuture<QString> snapshot = m_interpreter->stackSnapshot(std::min<std::chrono::milliseconds>(m_timeouts.cancelGrace / 2, std::chrono::milliseconds(500)));
        std::lock_guard lock(m_mutex);
        m_snapshot = snapshot;
        return next;
    }
    quarantine(reason);
    return std::nullopt;
}

QString Retirement::finishedSnapshot() const
{
    if (!m_snapshot.isValid() || !m_snapshot.isFinished() || m_snapshot.isCanceled() || m_snapshot.resultCount() == 0) {
        return QString();
    }
    return m_snapshot.result();
}

void Retirement::interrupt(Phase phase)
{
    auto self = shared_from_this();
    auto job = Job::fromFunctions(
        Job::Kind::Interrupt,
        [self, phase](Interpreter &interpreter) -> int {
            if (!interpreter.isBusy()) {
                return 0; // what overran has returned meanwhile: nothing to interrupt
            }
            {
                std::lock_guard lock(self->m_mutex);
                if (self->m_phase != phase || self->m_quarantined) {
                    return 0;
                }
                self->m_cancelLanded = describeFrame(PyEval_GetFrame());
            }
            const QString message = phase == Phase::OnUnload
                ? QStringLiteral("on_unload() did not return within %1").arg(describeDuration(self->m_timeouts.onUnload))
                : QStringLiteral("the plugin is being unloaded, and this did not return within %1").arg(describeDuration(self->m_timeouts.onUnload));
            Module::raise(PluginError(PluginError::Kind::Cancelled, self->m_pluginId, message));
            return -1;
        },
        {});
    if (std::unique_ptr<Job> refused = m_interpreter->tryPost(std::move(job))) {
        qCDebug(PLUGINHOST_PLUGINS) << "the interpreter of" << m_pluginId << "took no interrupt; it is ending";
    }
}

void Retirement::quarantine(const QString &reason)
{
    bool onUnloadReturned = false;
    CallResult returned;
    {
        std::lock_guard lock(m_mutex);
        onUnloadReturned = m_onUnloadReturned;
        returned = m_result;
    }
    m_interpreter->stop(); // no more jobs; it ends if its thread ever returns
    const QString message = QStringLiteral("%1 was quarantined: %2. Its interpreter (%3) is abandoned on its thread and destroyed if that thread ever returns")
                                .arg(m_pluginId, reason)
                                .arg(m_interpreterId);
    qCWarning(PLUGINHOST_PLUGINS).noquote() << message;
    const PluginError error(PluginError::Kind::TimedOut, m_pluginId, message);
    // What on_unload() returned stands (a reload hands it over); only its threads were stuck.
    complete(onUnloadReturned ? returned : CallResult(error), error);
}

void Retirement::interpreterEnded()
{
    bool wasQuarantined = false;
    bool wasCompleted = false;
    CallResult result;
    {
        std::lock_guard lock(m_mutex);
        m_phase = Phase::Ended;
        wasQuarantined = m_quarantined;
        wasCompleted = std::exchange(m_completed, true);
        result = m_result;
        if (wasQuarantined) {
            RuntimeInternal::abandonedInterpreterEnded(m_interpreter.get());
            if (m_book) {
                m_book->remove(m_interpreter.get());
            }
        }
    }
    if (wasQuarantined) {
        const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - m_started);
        qCInfo(PLUGINHOST_PLUGINS) << "the quarantined interpreter of" << m_pluginId << "ended after all," << after.count() << "ms after its unload began";
    }
    if (!wasCompleted) {
        complete(result, result.error());
    }
    RetirementWatch::instance().forget(this);
}

void Retirement::complete(const CallResult &result, const PluginError &settleError)
{
    if (m_settleGeneration) {
        m_shared->settle(*m_settleGeneration, Plugin::State::Unloaded, settleError);
    }
    m_promise->addResult(result);
    m_promise->finish();
}

// --- on the interpreter's thread ------------------------------------------------------------

namespace
{
thread_local Retirement *t_watchedRetirement = nullptr;

QString fileName(PyObject *path)
{
    const char *utf8 = path && PyUnicode_Check(path) ? PyUnicode_AsUTF8(path) : nullptr;
    if (!utf8) {
        PyErr_Clear();
        return QStringLiteral("<unknown>");
    }
    const QString full = QString::fromUtf8(utf8);
    return full.mid(full.lastIndexOf(QLatin1Char('/')) + 1);
}

// "time.sleep", "lock.acquire": the C function a profile event names.
QString describeCallable(PyObject *callable)
{
    if (PyCFunction_Check(callable)) {
        auto *function = reinterpret_cast<PyCFunctionObject *>(callable);
        QString owner;
        if (function->m_module && PyUnicode_Check(function->m_module)) {
            owner = QString::fromUtf8(PyUnicode_AsUTF8(function->m_module));
        } else if (function->m_self && !PyModule_Check(function->m_self)) {
            owner = QString::fromUtf8(Py_TYPE(function->m_self)->tp_name);
        }
        const QString name = QString::fromUtf8(function->m_ml->ml_name);
        return owner.isEmpty() ? name : owner + QLatin1Char('.') + name;
    }
    if (PyObject_TypeCheck(callable, &PyMethodDescr_Type)) {
        auto *descriptor = reinterpret_cast<PyMethodDescrObject *>(callable);
        return QStringLiteral("%1.%2").arg(QString::fromUtf8(descriptor->d_common.d_type->tp_name), QString::fromUtf8(descriptor->d_method->ml_name));
    }
    return QString::fromUtf8(Py_TYPE(callable)->tp_name);
}

int noteCalls(PyObject *, PyFrameObject *frame, int what, PyObject *argument)
{
    if (!t_watchedRetirement) {
        return 0;
    }
    if (what == PyTrace_C_CALL && argument) {
        t_watchedRetirement->setInsideC(QStringLiteral("%1() called at %2").arg(describeCallable(argument), Retirement::describeFrame(frame)));
    } else if (what == PyTrace_C_RETURN || what == PyTrace_C_EXCEPTION) {
        t_watchedRetirement->setInsideC(QString());
    }
    return 0;
}

PyRef callMethod(PyObject *object, const char *name)
{
    PyRef method = PyRef::steal(PyObject_GetAttrString(object, name));
    return method ? PyRef::steal(PyObject_CallNoArgs(method.get())) : PyRef();
}

unsigned long identOf(PyObject *thread)
{
    PyRef ident = PyRef::steal(PyObject_GetAttrString(thread, "ident"));
    const unsigned long value = ident && PyLong_Check(ident.get()) ? PyLong_AsUnsignedLong(ident.get()) : 0;
    PyErr_Clear();
    return value;
}

// The plugin's own threads Py_EndInterpreter() would wait for: alive, not daemon, not this one.
// Neither current_thread() (it leaves a dummy Thread behind on this thread) nor main_thread()
// (on 3.13 a subinterpreter's is the process's main thread) count.
QList<PyRef> pluginThreads(PyObject *threading)
{
    QList<PyRef> threads;
    PyRef all = callMethod(threading, "enumerate");
    PyRef main = callMethod(threading, "main_thread");
    PyRef sequence = all ? PyRef::steal(PySequence_Fast(all.get(), "threading.enumerate()")) : PyRef();
    if (!sequence) {
        PyErr_Clear();
        return threads;
    }
    const unsigned long self = PyThread_get_thread_ident();
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(sequence.get()); ++i) {
        PyObject *thread = PySequence_Fast_GET_ITEM(sequence.get(), i); // borrowed
        if (thread == main.get() || identOf(thread) == self) {
            continue;
        }
        PyRef daemon = PyRef::steal(PyObject_GetAttrString(thread, "daemon"));
        PyRef alive = callMethod(thread, "is_alive");
        if (daemon && alive && !PyObject_IsTrue(daemon.get()) && PyObject_IsTrue(alive.get())) {
            threads.append(PyRef::borrow(thread));
        }
        PyErr_Clear();
    }
    return threads;
}

// Until none of the plugin's threads is alive, or `deadline`. Polls rather than join(): that
// calls current_thread(), which leaves a dummy Thread on this thread that 3.13 complains about
// when the interpreter ends.
QList<PyRef> waitForThreads(PyObject *threading, Retirement::Clock::time_point deadline)
{
    QList<PyRef> threads = pluginThreads(threading);
    while (!threads.isEmpty() && Retirement::Clock::now() < deadline) {
        Py_BEGIN_ALLOW_THREADS std::this_thread::sleep_for(std::chrono::milliseconds(5));
        Py_END_ALLOW_THREADS threads = pluginThreads(threading);
    }
    return threads;
}

// "'worker' at stuck.py:20 in spin": a thread of the calling interpreter and where it is.
QString describeThread(PyObject *thread)
{
    PyRef name = PyRef::steal(PyObject_GetAttrString(thread, "name"));
    QString text = QStringLiteral("'%1'").arg(name && PyUnicode_Check(name.get()) ? QString::fromUtf8(PyUnicode_AsUTF8(name.get())) : QStringLiteral("?"));
    PyErr_Clear();
    const unsigned long ident = identOf(thread);
    for (PyThreadState *state = PyInterpreterState_ThreadHead(PyInterpreterState_Get()); state; state = PyThreadState_Next(state)) {
        if (state->thread_id == ident) {
            PyFrameObject *frame = PyThreadState_GetFrame(state); // new reference
            if (frame) {
                text += QStringLiteral(" at %1").arg(Retirement::describeFrame(frame));
                Py_DECREF(frame);
            }
            break;
        }
    }
    return text;
}
} // namespace

QString Retirement::describeFrame(PyFrameObject *frame)
{
    if (!frame) {
        return QStringLiteral("<no Python frame>");
    }
    PyCodeObject *code = PyFrame_GetCode(frame); // new reference
    const QString where = QStringLiteral("%1:%2 in %3")
                              .arg(fileName(code->co_filename))
                              .arg(PyFrame_GetLineNumber(frame))
                              .arg(code->co_name && PyUnicode_Check(code->co_name) ? QString::fromUtf8(PyUnicode_AsUTF8(code->co_name)) : QString());
    Py_DECREF(code);
    return where;
}

Retirement::WatchedCalls::WatchedCalls(Retirement *retirement)
{
    t_watchedRetirement = retirement;
    const Module::HostActionScope host; // the hook refuses sys.setprofile to plugins without "native"
    PyEval_SetProfile(&noteCalls, nullptr);
}

Retirement::WatchedCalls::~WatchedCalls()
{
    {
        const Module::HostActionScope host;
        PyEval_SetProfile(nullptr, nullptr);
    }
    if (t_watchedRetirement) {
        t_watchedRetirement->setInsideC(QString());
    }
    t_watchedRetirement = nullptr;
}

QStringList Retirement::endPluginThreads()
{
    PyRef threadingName = PyRef::steal(PyUnicode_FromString("threading"));
    PyRef threading = threadingName ? PyRef::steal(PyImport_GetModule(threadingName.get())) : PyRef();
    if (!threading) {
        PyErr_Clear();
        return {}; // never imported: the plugin started no thread Py_EndInterpreter() waits for
    }
    const QList<PyRef> threads = waitForThreads(threading.get(), Clock::now() + m_timeouts.threads);
    if (threads.isEmpty()) {
        return {};
    }

    PyRef moduleName = PyRef::steal(PyUnicode_FromString("pluginhost"));
    PyRef module = moduleName ? PyRef::steal(PyImport_GetModule(moduleName.get())) : PyRef();
    PyRef cancelled = module ? PyRef::steal(PyObject_GetAttrString(module.get(), "Cancelled")) : PyRef();
    PyErr_Clear();
    QStringList names;
    for (const PyRef &thread : std::as_const(threads)) {
        names.append(describeThread(thread.get()));
        if (const unsigned long ident = identOf(thread.get())) {
            PyThreadState_SetAsyncExc(ident, cancelled ? cancelled.get() : PyExc_SystemExit);
        }
    }
    qCInfo(PLUGINHOST_PLUGINS).noquote() << m_pluginId << "is unloading: its thread(s)" << names.join(QLatin1String(", ")) << "did not end within"
                                         << describeDuration(m_timeouts.threads) << "- raising pluginhost.Cancelled in them";
    QStringList left;
    for (const PyRef &thread : waitForThreads(threading.get(), Clock::now() + m_timeouts.cancelGrace)) {
        left.append(describeThread(thread.get()));
    }
    return left;
}

} // namespace PluginHost
