// Waiting for SDK futures in tests, the way GUI code does: with the event loop running.
#pragma once

#include <PluginHost/Plugin>

#include <QTest>

namespace PluginHost::Tests
{

template<typename T>
bool settle(const QFuture<T> &future, int timeoutMs = 30000)
{
    return QTest::qWaitFor(
        [&] {
            return future.isFinished();
        },
        timeoutMs);
}

inline CallResult resultOf(const QFuture<QVariant> &future)
{
    if (!settle(future)) {
        return PluginError(PluginError::Kind::TimedOut, QString(), QStringLiteral("the test waited 30 s in vain"));
    }
    return CallResult::fromFuture(future);
}

} // namespace PluginHost::Tests
