#pragma once

#include "job.h"
#include "pluginhostcore_export.h"

#include <QDateTime>
#include <QFuture>
#include <QString>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>

typedef struct _ts PyThreadState;

namespace PluginHost
{

class InterpreterPrivate;

/// What the layer above keeps per interpreter (the plugin's context). Interpreter thread only.
class PLUGINHOSTCORE_EXPORT InterpreterContext
{
public:
    virtual ~InterpreterContext();
};

/*
 * One CPython subinterpreter on one dedicated OS thread, which creates it, runs every
 * piece of its Python code and destroys it (DESIGN.md, threading points 2 and 3).
 *
 * Work arrives as jobs in the mailbox. Posting rings the doorbell: a condition variable
 * wakes the thread when it is idle, and one per-interpreter pending call makes a thread
 * that is busy in Python run interrupt and re-entrant jobs at its next bytecode boundary.
 *
 * The thread keeps the Interpreter alive until it has ended the CPython interpreter, so
 * dropping the last outside reference never blocks; a stuck interpreter is abandoned, not
 * waited for. All members are thread-safe unless they say otherwise.
 */
class PLUGINHOSTCORE_EXPORT Interpreter : public std::enable_shared_from_this<Interpreter>
{
public:
    enum class Isolation {
        OwnGil, ///< own GIL and allocator; only extensions supporting a per-interpreter GIL load
        SharedGil, ///< shares the main GIL and allocator; legacy single-phase extensions load too
    };

    /// What the supervisor (supervisor.h) sees the interpreter doing.
    struct Activity {
        QDateTime busySince; ///< the running job started then and outlasted Config::busyBudget; else invalid
        QDateTime blockedSince; ///< its pending call has waited since then (blocked in C); else invalid
        QString task; ///< the running job's description, while busy or blocked

        bool operator==(const Activity &other) const = default;
    };

    struct Config {
        Isolation isolation = Isolation::OwnGil;
        bool allowExec = false; ///< os.exec*/subprocess (the `subprocess` permission)
        QString name; ///< for the thread name and log messages, e.g. the plugin id
        /// How many ordinary jobs (and, separately, interrupt and re-entrant ones) may wait; 0: no bound.
        int mailboxCapacity = 10000;
        /// A job running longer than this makes the interpreter busy (activity()).
        std::chrono::milliseconds busyBudget{1000};
        /// Called on the supervisor's thread, with no lock held, when activity() changes.
        std::function<void(const Activity &)> activityChanged;
    };

    /// Creates the interpreter on a new thread. Jobs posted before it exists wait for it.
    static std::shared_ptr<Interpreter> start(const Config &config);
    ~Interpreter();

    /// Queues a job. Returns false, after discarding the job, once stop() was called.
    bool post(std::unique_ptr<Job> job);

    /// Queues a job, or hands it back untouched once stop() was called or while the mailbox is
    /// full (`refusal` says which: Unloaded or Overloaded), so that the caller can discard it
    /// outside its own locks.
    [[nodiscard]] std::unique_ptr<Job> tryPost(std::unique_ptr<Job> job, Job::DiscardReason *refusal = nullptr);

    /// Why jobs are refused: the creation error, or that the interpreter is stopping.
    QString rejectionReason() const;

    /// Accepts no more jobs; the thread runs what is queued, then ends the interpreter.
    void stop();

    /// Waits for the thread to end the interpreter. False on timeout.
    bool wait(std::chrono::milliseconds timeout);

    /// Takes every ordinary job still queued, in order (for unload and reload).
    std::deque<std::unique_ptr<Job>> takeQueuedJobs();

    /// CPython's interpreter id, or -1 until it exists.
    qint64 id() const;
    Isolation isolation() const;
    /// The GIL the interpreter really got: OwnGil or SharedGil, read back from CPython where
    /// it can tell (3.13+), otherwise the one requested. Meaningful once id() is set.
    Isolation gil() const;
    QString name() const;

    /// Empty unless creation failed.
    QString creationError() const;

    /// True while an ordinary job is running.
    bool isBusy() const;

    /// Busy past its budget, blocked in C: what the supervisor last saw.
    Activity activity() const;

    /*
     * The Python stack of the running code, formatted like a traceback, taken through the
     * pending call at the next bytecode boundary; "idle" when nothing runs. When that does not
     * happen within `wait` (the thread is blocked in C), says so with the frame the supervisor
     * last saw the job at. Says so too when the interpreter stopped before it could look.
     */
    QFuture<QString> stackSnapshot(std::chrono::milliseconds wait);

    /// True once the thread has ended the interpreter (or failed to create it).
    bool isFinished() const;

    /// Runs `callback` once the interpreter is gone (or failed to start): on its thread,
    /// without any GIL, or right away on the calling thread if that already happened.
    void whenFinished(std::function<void()> callback);

    /// The interpreter whose thread is calling, or nullptr.
    static Interpreter *current();

    /// Its thread state. Only on the interpreter's own thread.
    PyThreadState *threadState() const;

    /// The context jobs find their plugin state in. Set and read on the interpreter's thread;
    /// it is dropped there, before the interpreter ends.
    void setContext(std::shared_ptr<InterpreterContext> context);
    InterpreterContext *context() const;

    // --- asyncio and pluginhost.sleep() (idle hook, interruptible sleep) -------------------

    /*
     * Lends the thread to `handler` whenever the mailbox is empty, instead of waiting on it:
     * the plugin's asyncio loop runs there. The handler runs with the GIL held. It returns
     * false at once when it has nothing to do (the thread then waits as usual); otherwise it
     * runs until idleWakeDescriptor() becomes readable, which happens as soon as a job is
     * posted or stop() is called, and returns true. An empty function removes it. Interpreter
     * thread only; interpreters without a handler pay nothing for this.
     */
    void setIdleHandler(std::function<bool()> handler);

    /// The eventfd behind that wake-up, made on first use; -1 when it cannot be made.
    /// Interpreter thread only.
    int idleWakeDescriptor();

    /*
     * pluginhost.sleep(): on the interpreter's thread with the GIL held, waits up to `duration`
     * with the GIL released. Interrupt and re-entrant jobs that arrive meanwhile run at once;
     * when one of them raises (it cancels the running call), returns -1 with that exception
     * set. Otherwise returns 0 once the time is up, or earlier when stop() was called.
     */
    int sleep(std::chrono::nanoseconds duration);

    /*
     * The plugin's asyncio loop, run by the idle handler, tells the interpreter when it starts
     * running Python (a step: the callbacks and task steps between two waits in its selector)
     * and when it waits again. The supervisor watches a step like a running job: it samples
     * its frame, reports it busy or blocked in C, and interrupts it for the calls running as
     * tasks (superviseTask()). Interpreter thread only; nothing inside a job, whose own
     * supervision covers a loop it runs.
     */
    void loopStepStarted();
    void loopStepEnded();

    /*
     * A call that goes on as a task of the plugin's asyncio loop: the supervisor holds it to
     * its deadline and to its caller's cancel. When that comes, and a step of the loop is
     * running, `control->interrupt()` is called at the next bytecode boundary (it decides
     * whether the code running is that task's); when the call is still not settled
     * Supervisor::interruptGrace later (the loop is blocked in C, or held up by other code),
     * `control->expire()` ends the caller's wait. Dropped once `control->isSettled()`.
     */
    void superviseTask(std::shared_ptr<JobControl> control);


private:
    explicit Interpreter(const Config &config);
    std::unique_ptr<InterpreterPrivate> const d;
    friend class InterpreterPrivate;
};

} // namespace PluginHost
