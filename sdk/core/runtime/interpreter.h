#pragma once

#include "job.h"
#include "pluginhostcore_export.h"

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

    struct Config {
        Isolation isolation = Isolation::OwnGil;
        bool allowExec = false; ///< os.exec*/subprocess (the `subprocess` permission)
        QString name; ///< for the thread name and log messages, e.g. the plugin id
    };

    /// Creates the interpreter on a new thread. Jobs posted before it exists wait for it.
    static std::shared_ptr<Interpreter> start(const Config &config);
    ~Interpreter();

    /// Queues a job. Returns false, after discarding the job, once stop() was called.
    bool post(std::unique_ptr<Job> job);

    /// Queues a job, or hands it back untouched once stop() was called, so that the caller
    /// can discard it outside its own locks.
    [[nodiscard]] std::unique_ptr<Job> tryPost(std::unique_ptr<Job> job);

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


private:
    explicit Interpreter(const Config &config);
    std::unique_ptr<InterpreterPrivate> const d;
    friend class InterpreterPrivate;
};

} // namespace PluginHost
