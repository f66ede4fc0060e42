#pragma once

#include "plugin.h"
#include "runtime/interpreter.h"

#include <QLoggingCategory>
#include <QSet>

#include <mutex>
#include <optional>

namespace PluginHost
{

class PluginRegistry;
class QuarantineBook;

// PluginManager::loadTimeout() unless the application chooses another.
constexpr std::chrono::milliseconds defaultLoadTimeout = std::chrono::seconds(5);

// What the Plugin (on its thread) and its jobs (on the interpreter's thread) share.
struct PluginShared {
    explicit PluginShared(const PluginMetaData &data)
        : metaData(data)
        , logCategoryName(QByteArrayLiteral("pluginhost.plugin.") + data.id().toUtf8())
        , logCategory(logCategoryName.constData())
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
    // QLoggingCategory keeps the pointer to its name: the name lives as long as the category.
    const QByteArray logCategoryName;
    QLoggingCategory logCategory;

    mutable std::mutex mutex;
    Plugin::State state = Plugin::State::Unloaded;
    PluginError lastError;
    std::shared_ptr<Interpreter> interpreter;
    std::shared_ptr<Interpreter> failedInterpreter; // ending after a failed load
    quint64 generation = 0;
    QVariant stateForNextLoad; // what on_unload() returned last time
    std::optional<bool> enabled; // set by setEnabled(), in case the registry cannot keep it
    QFuture<CallResult> pendingLoad;
    // The current instance's interface. During a reload the old instance's subscriptions stay
    // until the new one has loaded, so that events sent meanwhile wait for it in its mailbox.
    QList<PluginExport> exports;
    QSet<QString> subscriptions;

    // Supervision (supervisor.h): settings for the next interpreter, and what the current one
    // reports. `owner` is cleared when the Plugin goes, so that no signal is queued to it after.
    Plugin *owner = nullptr;
    std::chrono::milliseconds busyBudget{1000};
    std::chrono::milliseconds loadTimeout = defaultLoadTimeout; // 0: none
    int mailboxCapacity = 10000;
    PluginActivity activity;
    // From the supervisor's thread: `from` reported `activity`. Queues activityChanged().
    void reportActivity(Interpreter *from, const Interpreter::Activity &activity);
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
    // A future that finishes once `interpreter` (stopped after a failed load) has ended, or was quarantined.
    QFuture<CallResult> whenEnded(const std::shared_ptr<Interpreter> &interpreter);

    // Queues `job` in the plugin's current interpreter, or discards it saying why the plugin
    // cannot take it. Any thread; takes shared->mutex.
    static void post(const std::shared_ptr<PluginShared> &shared, std::unique_ptr<Job> job);
    // Like post(), but hands back a job refused because the mailbox is full (`*full` set)
    // instead of discarding it, so that a blocking caller can wait for room.
    static std::unique_ptr<Job> post(const std::shared_ptr<PluginShared> &shared, std::unique_ptr<Job> job, bool *full);
    // The one path for calls into a plugin, from the host (Plugin::call) and from other
    // plugins (PluginRegistry::call).
    static QFuture<QVariant> call(const std::shared_ptr<PluginShared> &shared, const QString &function, const QVariantList &arguments, const CallOptions &options = {});
    // The job call() posts, with its future (made from the job's promise, never default-constructed:
    // an empty QFuture allocates a state of its own, a second QFutureInterface per call).
    struct PreparedCall {
        std::unique_ptr<Job> job;
        QFuture<QVariant> future;
    };
    static PreparedCall makeCall(const std::shared_ptr<PluginShared> &shared, const QString &function, const QVariantList &arguments, const CallOptions &options);

    Plugin *q = nullptr;
    std::shared_ptr<PluginShared> shared;
    std::shared_ptr<PluginRegistry> registry; // set by the PluginManager that made the plugin
    std::shared_ptr<QuarantineBook> quarantine; // unload timeouts and quarantined plugins; likewise
};

} // namespace PluginHost
