// Unloading an interpreter in bounded time, and quarantining the ones that do not end.
#pragma once

#include "plugin_p.h"
#include "pluginmanager.h"

#include <QFuture>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

typedef struct _frame PyFrameObject;

namespace PluginHost
{

// What one PluginManager shares with its plugins about unloading: the timeouts, and the
// plugins whose interpreters it abandoned. Outlives the manager while such an interpreter lives.
class QuarantineBook
{
public:
    UnloadTimeouts timeouts() const;
    void setTimeouts(const UnloadTimeouts &timeouts);

    QList<QuarantinedPlugin> entries() const;
    void add(const void *token, const QuarantinedPlugin &entry);
    void remove(const void *token);

private:
    mutable std::mutex m_mutex;
    UnloadTimeouts m_timeouts;
    QList<std::pair<const void *, QuarantinedPlugin>> m_entries;
};

/*
 * One interpreter on its way out (unload, reload, a plugin destroyed). Its unload job reports
 * how far it got; a watch thread raises pluginhost.Cancelled into code that overruns its time,
 * and quarantines the interpreter when that does not help: the future finishes then, the
 * interpreter is left to its thread, and destroyed whenever that thread returns.
 */
class Retirement : public std::enable_shared_from_this<Retirement>
{
public:
    using Clock = std::chrono::steady_clock;
    enum class Phase {
        Queued, // behind the job running when the unload began (a call, the load)
        OnUnload,
        Threads, // waiting for the plugin's own threads
        Ending, // the unload job returned: Py_EndInterpreter() and what it waits for
        Ended,
    };

    /*
     * Posts the unload job to `interpreter` and watches it. The future finishes once the
     * interpreter is gone, or once it is quarantined. With settleGeneration, the plugin
     * becomes Unloaded then (unless something began since). `book` may be null (defaults).
     */
    static QFuture<CallResult> begin(const std::shared_ptr<PluginShared> &shared,
                                     const std::shared_ptr<Interpreter> &interpreter,
                                     std::optional<quint64> settleGeneration,
                                     const std::shared_ptr<QuarantineBook> &book);

    /// A future that finishes once `interpreter`, which failed to load and stopped itself, has
    /// ended; or once it is quarantined, when that takes longer than threads + cancelGrace.
    static QFuture<CallResult> watchEnd(const std::shared_ptr<PluginShared> &shared,
                                        const std::shared_ptr<Interpreter> &interpreter,
                                        const std::shared_ptr<QuarantineBook> &book);

    // --- the unload job, on the interpreter's thread --------------------------------------

    // Moves on to `phase`. False once the interpreter is quarantined: skip the plugin's code.
    bool enter(Phase phase);
    bool isQuarantined() const;
    const UnloadTimeouts &timeouts() const
    {
        return m_timeouts;
    }
    // What on_unload() returned (or raised): the future's value, unless quarantined before.
    void setResult(const CallResult &result);
    // Threads of the plugin still running after `threads` and Cancelled ("worker at w.py:3").
    void setThreadsLeft(const QStringList &threads);
    // The C function on_unload() is calling now ("time.sleep() called at stuck.py:9"); empty
    // once it returned. From the profile hook; for the quarantine message.
    void setInsideC(const QString &where);

    // Runs on_unload() (through `hook`) with a profile hook noting the C functions it calls.
    template<typename Hook>
    auto watchCalls(Hook hook)
    {
        WatchedCalls watched(this);
        return hook();
    }

    // Waits up to timeouts().threads for the plugin's own non-daemon threads, raises Cancelled
    // into those still running, waits cancelGrace more, and returns the ones left, described.
    // GIL held; released while waiting.
    QStringList endPluginThreads();

    // Where a frame is: "stuck.py:12 in on_unload". GIL held.
    static QString describeFrame(PyFrameObject *frame);

private:
    class WatchedCalls
    {
    public:
        explicit WatchedCalls(Retirement *retirement);
        ~WatchedCalls();
    };
    friend class RetirementWatch;

    Retirement(const std::shared_ptr<PluginShared> &shared,
               const std::shared_ptr<Interpreter> &interpreter,
               std::optional<quint64> settleGeneration,
               const std::shared_ptr<QuarantineBook> &book);

    // The watch thread: acts on an overrun. Returns when to look again; nullopt once done.
    std::optional<Clock::time_point> check(Clock::time_point now);
    // When the current phase runs out of time (before any Cancelled was sent).
    Clock::time_point deadline() const;
    Clock::time_point phaseDeadline() const; // m_mutex held
    void interrupt(Phase phase);
    QString finishedSnapshot() const; // m_mutex held
    void quarantine(const QString &reason);
    void interpreterEnded();
    void complete(const CallResult &result, const PluginError &settleError);

    const std::shared_ptr<PluginShared> m_shared;
    const std::shared_ptr<Interpreter> m_interpreter;
    const std::optional<quint64> m_settleGeneration;
    const std::shared_ptr<QuarantineBook> m_book;
    const UnloadTimeouts m_timeouts;
    const QString m_pluginId;
    const Clock::time_point m_started;
    std::shared_ptr<QPromise<CallResult>> m_promise;

    mutable std::mutex m_mutex;
    Phase m_phase = Phase::Queued;
    Clock::time_point m_phaseStarted;
    std::optional<Clock::time_point> m_cancelledAt; // when Cancelled was sent, this phase
    QString m_cancelLanded; // where Cancelled interrupted the code ("stuck.py:9 in on_unload")
    QString m_insideC;
    QFuture<QString> m_snapshot; // the overrunning code's stack, asked for with Cancelled
    QStringList m_threadsLeft;
    CallResult m_result;
    bool m_onUnloadReturned = false;
    bool m_failedLoad = false; // watchEnd(): no unload job, the interpreter ends by itself
    bool m_quarantined = false;
    bool m_completed = false;
    qint64 m_interpreterId = -1;
};

/// "5 s", "300 ms": a timeout as messages print it.
QString describeDuration(std::chrono::milliseconds duration);

} // namespace PluginHost
