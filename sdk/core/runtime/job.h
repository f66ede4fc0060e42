#pragma once

#include "pluginhostcore_export.h"

#include <QString>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

namespace PluginHost
{

class Interpreter;

/*
 * The part of a job the supervisor (supervisor.h) may reach from its own thread: whether the
 * caller gave up, the deadline, and a way to end the caller's wait while the job runs or is
 * stuck. A job shares it (Job::control()); it outlives the job as long as someone holds it.
 */
class PLUGINHOSTCORE_EXPORT JobControl
{
public:
    using Clock = std::chrono::steady_clock;
    enum class Expiry {
        Cancelled, ///< the caller cancelled (QFuture::cancel())
        TimedOut, ///< the deadline passed
    };

    virtual ~JobControl();

    /// Clock::time_point::max() when there is none. Set before the job is posted, or by the
    /// job itself when its clock starts later than that (a load waiting for the instance it
    /// replaces): the supervisor reads it from its own thread.
    Clock::time_point deadline() const
    {
        return Clock::time_point(Clock::duration(m_deadline.load(std::memory_order_relaxed)));
    }
    void setDeadline(Clock::time_point deadline)
    {
        m_deadline.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
    }
    bool hasDeadline() const
    {
        return deadline() != Clock::time_point::max();
    }

    /// Any thread, cheap (the supervisor asks it of every queued job while polling).
    virtual bool isCancelRequested() const = 0;

    /// What the caller sees the job as, for messages: "greet()".
    virtual QString description() const = 0;

    /*
     * On the interpreter's thread, with its GIL held, at a bytecode boundary inside this very
     * job: ends the caller's wait (`where` is the file:line interrupted) and sets the exception
     * that unwinds the running code. Returns -1 (exception set), or 0 to let the code run on.
     */
    virtual int interrupt(Expiry why, const QString &where) = 0;

    /// The caller has its answer: nothing is left to supervise (Interpreter::superviseTask()).
    virtual bool isSettled() const
    {
        return false;
    }

    /// Ends the caller's wait without the job's help (it is blocked in C, or was dropped from
    /// the queue). Any thread, no locks held. What the job reports later is dropped.
    virtual void expire(Expiry why, const QString &detail) = 0;

private:
    std::atomic<Clock::rep> m_deadline{Clock::time_point::max().time_since_epoch().count()};
};

/*
 * A piece of work for one interpreter, posted to its mailbox from any thread.
 *
 * Exactly one of run() or discard() is called, once. Ordinary jobs run one after the
 * other, in the order posted. Interrupt and re-entrant jobs also run while an ordinary
 * job is busy in Python, at its next bytecode boundary (DESIGN.md, threading point 4).
 */
class PLUGINHOSTCORE_EXPORT Job
{
public:
    enum class Kind {
        Ordinary,
        Interrupt,
        Reentrant,
    };
    enum class DiscardReason {
        Unloaded, ///< the interpreter stopped before the job could run
        InterpreterFailed, ///< the interpreter could not be created
        Overloaded, ///< the mailbox was full
    };

    explicit Job(Kind kind = Kind::Ordinary)
        : m_kind(kind)
    {
    }
    virtual ~Job();
    Job(const Job &) = delete;
    Job &operator=(const Job &) = delete;

    Kind kind() const
    {
        return m_kind;
    }

    /*
     * On the interpreter's thread, with its GIL held. Returns 0, or -1 with a Python
     * exception set to raise it into the code this job interrupted (only interrupt jobs
     * running at a bytecode boundary do that; elsewhere the exception is logged).
     */
    virtual int run(Interpreter &interpreter) = 0;

    /// The job will never run. Any thread, no GIL held.
    virtual void discard(DiscardReason reason, const QString &detail) = 0;

    /// The job's control, for jobs that can be cancelled or have a deadline; null otherwise.
    /// The supervisor keeps it beyond the job while it ends the caller's wait.
    /// A queued job whose control is cancelled or past its deadline is dropped by the supervisor:
    /// neither run() nor discard() is called, the control's expire() is, and the job is
    /// destroyed on the supervisor's thread without any GIL (so it must hold no Python object).
    /// A reference, not a copy: the supervisor asks it of every job of a held-up queue.
    virtual const std::shared_ptr<JobControl> &control() const;

    /// What the job does, for the supervisor's messages ("greet()", "event 'tick'").
    virtual QString description() const
    {
        return QString();
    }

    /// A job made of two functions, for the simple cases.
    static std::unique_ptr<Job> fromFunctions(Kind kind, std::function<int(Interpreter &)> run, std::function<void(DiscardReason, const QString &)> discard);

private:
    const Kind m_kind;
};

} // namespace PluginHost
