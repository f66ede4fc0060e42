#pragma once

#include "plugin_p.h"
#include "runtime/job.h"

#include <QPromise>

#include <atomic>
#include <chrono>

namespace PluginHost
{

class PluginRegistry;

/// Sets sys.path, installs the `pluginhost` module, imports the entry module, runs on_load().
/// Stops the interpreter on failure. Waits (without the GIL) for `previousInstance` first when
/// reloading: its value is the state on_unload() handed over.
std::unique_ptr<Job> makeLoadJob(std::shared_ptr<PluginShared> shared,
                                 std::shared_ptr<PluginRegistry> registry,
                                 quint64 generation,
                                 QFuture<CallResult> previousInstance,
                                 QPromise<CallResult> promise);

/// True for jobs made by makeLoadJob (a reload must not carry them to the next interpreter).
bool isLoadJob(const Job &job);

class Retirement;

/// Runs on_unload(), detaches the `pluginhost` module, drops the plugin's Python objects, gives
/// the plugin's own threads their bounded time to end, and stops the interpreter. Reports each
/// step, and what on_unload() returned, to `retirement` (see retirement_p.h).
std::unique_ptr<Job> makeUnloadJob(std::shared_ptr<PluginShared> shared, std::shared_ptr<Retirement> retirement);

/// Calls an export of the loaded plugin (any public function of its entry module when it
/// exports nothing). Re-entrant when the export is. A non-zero `timeout` is its deadline
/// (CallOptions::timeout); cancelling the promise's future cancels it (supervisor.h).
std::unique_ptr<Job> makeCallJob(const QString &pluginId,
                                 const QString &function,
                                 const QVariantList &arguments,
                                 Job::Kind kind,
                                 QPromise<QVariant> promise,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds::zero());

/// Runs the plugin's handlers of `event` (pluginhost.on); a handler that raises is logged.
/// `queued`, when given, is decremented when the job is gone (PluginRegistry's per-sender cap).
std::unique_ptr<Job> makeEventJob(const QString &pluginId,
                                  const QString &event,
                                  const QVariant &payload,
                                  const QString &sender,
                                  std::shared_ptr<std::atomic<int>> queued = nullptr);

/// Describes every export with inspect (see Plugin::describeExports()).
std::unique_ptr<Job> makeDescribeExportsJob(const QString &pluginId, QPromise<QVariantList> promise);

} // namespace PluginHost
