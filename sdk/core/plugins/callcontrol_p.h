// The caller's end of a call into a plugin (plugincalls.cpp, asynccalls.cpp).
#pragma once

#include "bridge/pluginerror.h"
#include "module/module.h"
#include "runtime/job.h"

#include <QPromise>
#include <QVariant>

#include <atomic>
#include <chrono>

namespace PluginHost
{

/*
 * The caller's end of a call: its promise, and what the supervisor needs to cancel the call or
 * hold it to its deadline. Whoever settles first (the call, its asyncio task, the supervisor,
 * the interrupt) reports; the others' results are dropped.
 *
 * One is made per call on the caller's thread and usually freed on the plugin's. glibc frees a
 * block that small (at most 120 bytes) from another thread without taking its arena's lock;
 * a larger one takes the lock the caller's next allocation waits for. With this block at 144
 * bytes (and two trips through the mailbox's lock per job), calls_per_s in tests/benchmarks
 * was near 330k calls per second; at 112 bytes, near 450k.
 */
class CallControl final : public JobControl
{
public:
    CallControl(const QString &pluginId, const QString &function, std::chrono::milliseconds timeout, QPromise<QVariant> promise)
        : pluginId(pluginId)
        , function(function)
        , m_promise(std::move(promise))
        , m_timeout(timeout)
    {
        if (timeout > std::chrono::milliseconds::zero()) {
            setDeadline(Clock::now() + timeout);
        }
    }

    bool isCancelRequested() const override
    {
        // An exception marks a future canceled too: only a caller's cancel() counts, before it settled.
        return m_promise.isCanceled() && !m_settled.load(std::memory_order_relaxed);
    }
    QString description() const override
    {
        return function + QLatin1String("()");
    }
    int interrupt(Expiry why, const QString &where) override
    {
        if (why == Expiry::TimedOut) {
            fail(timedOut(QStringLiteral("interrupted at %1").arg(where.isEmpty() ? QStringLiteral("an unknown place") : where)));
        } else {
            cancel();
        }
        Module::raise(PluginError(PluginError::Kind::Cancelled,
                                  pluginId,
                                  why == Expiry::TimedOut ? QStringLiteral("%1() passed its deadline of %2 ms").arg(function).arg(m_timeout.count())
                                                          : QStringLiteral("the caller cancelled %1()").arg(function)));
        return -1;
    }
    void expire(Expiry why, const QString &detail) override
    {
        if (why == Expiry::TimedOut) {
            fail(timedOut(detail));
        } else {
            cancel();
        }
    }

    void succeed(QVariant value)
    {
        if (claim()) {
            m_promise.addResult(std::move(value));
            m_promise.finish();
        }
    }
    void fail(const PluginError &error)
    {
        if (claim()) {
            m_promise.setException(CallError(error));
            m_promise.finish();
        }
    }
    void cancel()
    {
        if (claim()) {
            m_promise.finish(); // canceled by the caller already: ends without a value
        }
    }

    /// Someone reported: the caller has its answer.
    bool isSettled() const override
    {
        return m_settled.load();
    }

    const QString pluginId;
    const QString function;

private:
    bool claim()
    {
        return !m_settled.exchange(true);
    }
    PluginError timedOut(const QString &detail) const
    {
        return PluginError(PluginError::Kind::TimedOut, pluginId, QStringLiteral("%1() did not return within %2 ms: %3").arg(function).arg(m_timeout.count()).arg(detail));
    }

    QPromise<QVariant> m_promise; // never moved: isCancelRequested() reads it from the supervisor's thread
    const std::chrono::milliseconds m_timeout;
    std::atomic<bool> m_settled{false};
};

// The control and make_shared's bookkeeping in one block (see CallControl).
static_assert(sizeof(CallControl) + 2 * sizeof(void *) <= 120, "a CallControl no longer fits the blocks glibc frees across threads without a lock");

} // namespace PluginHost
