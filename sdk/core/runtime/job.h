#pragma once

#include "pluginhostcore_export.h"

#include <QString>

#include <functional>
#include <memory>

namespace PluginHost
{

class Interpreter;

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

    /// A job made of two functions, for the simple cases.
    static std::unique_ptr<Job> fromFunctions(Kind kind, std::function<int(Interpreter &)> run, std::function<void(DiscardReason, const QString &)> discard);

private:
    const Kind m_kind;
};

} // namespace PluginHost
