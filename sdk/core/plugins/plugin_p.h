#pragma once

#include "plugin.h"
#include "runtime/interpreter.h"

#include <mutex>
#include <optional>

namespace PluginHost
{

// What the Plugin (on its thread) and its jobs (on the interpreter's thread) share.
struct PluginShared {
    explicit PluginShared(const PluginMetaData &data)
        : metaData(data)
    {
    }

    // Sets state and error unless a later load, unload or reload has begun since `ofGeneration`.
    void settle(quint64 ofGeneration, Plugin::State newState, const PluginError &error)
    {
        std::lock_guard lock(mutex);
        if (generation != ofGeneration) {
            return;
        }
        state = newState;
        lastError = error;
        if (newState == Plugin::State::Failed) {
            // It stops itself; calls made from now on fail at once, and unload() waits for it.
            failedInterpreter = std::move(interpreter);
        }
    }

    const PluginMetaData metaData;

    mutable std::mutex mutex;
    Plugin::State state = Plugin::State::Unloaded;
    PluginError lastError;
    std::shared_ptr<Interpreter> interpreter;
    std::shared_ptr<Interpreter> failedInterpreter; // ending after a failed load
    quint64 generation = 0;
    QVariant stateForNextLoad; // what on_unload() returned last time
    QFuture<CallResult> pendingLoad;
};

class PluginPrivate
{
public:
    explicit PluginPrivate(const PluginMetaData &metaData)
        : shared(std::make_shared<PluginShared>(metaData))
    {
    }

    // Posts on_unload() to `interpreter` and stops it; the future finishes once the interpreter is gone.
    // With settleGeneration, the plugin becomes Unloaded then (unless something began since).
    QFuture<CallResult> retire(const std::shared_ptr<Interpreter> &interpreter, std::optional<quint64> settleGeneration);
    // Starts a fresh interpreter and queues the load on it (after `previousInstance` ended,
    // when reloading). Called with shared->mutex held.
    QFuture<CallResult> beginLoad(quint64 generation, const QFuture<CallResult> &previousInstance);
    void announce(QFuture<CallResult> future);
    // A future that finishes once `interpreter` has ended.
    static QFuture<CallResult> whenEnded(const std::shared_ptr<Interpreter> &interpreter);

    Plugin *q = nullptr;
    std::shared_ptr<PluginShared> shared;
};

} // namespace PluginHost
