// What the measurements share on the SDK side: fixture plugins copied into a temporary
// folder (so that the source tree stays clean and every copy gets an id of its own), and
// small helpers that turn a failed load or call into an exception with the SDK's message.
#pragma once

#include <PluginHost/Plugin>

#include <QTemporaryDir>

#include <functional>

namespace Bench
{

class PluginFarm
{
public:
    /// `fixtures` is the folder holding the fixture plugins (tests/benchmarks/plugins).
    explicit PluginFarm(const QString &fixtures);

    enum class Gil {
        Own,
        Shared,
    };

    /// Copies the fixture plugin `fixture` as a plugin with id `id`. Returns its folder.
    QString add(const QString &fixture, const QString &id, Gil gil = Gil::Own);

    /// The folder to give PluginManager::setSearchPaths().
    QString root() const;

private:
    QString m_fixtures;
    QTemporaryDir m_root;
};

/// Waits for a load() or unload() future; throws std::runtime_error with the error text if it failed.
void expectSuccess(const QFuture<PluginHost::CallResult> &future, const QString &what);

/// Throws std::runtime_error with the error text if `result` is an error.
void expectSuccess(const PluginHost::CallResult &result, const QString &what);

/// Runs `work` on a new thread (not the one that owns the plugins) and waits; rethrows what it threw.
void runOnWorkerThread(const std::function<void()> &work);

} // namespace Bench
