#pragma once

#include "plugin_p.h"
#include "runtime/job.h"

#include <QPromise>

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

/// Runs on_unload(), detaches the `pluginhost` module and drops the plugin's Python objects;
/// `result` receives what on_unload() returned.
std::unique_ptr<Job> makeUnloadJob(std::shared_ptr<PluginShared> shared, std::shared_ptr<CallResult> result);

/// Calls an export of the loaded plugin (any public function of its entry module when it
/// exports nothing). Re-entrant when the export is.
std::unique_ptr<Job> makeCallJob(const QString &pluginId, const QString &function, const QVariantList &arguments, Job::Kind kind, QPromise<QVariant> promise);

/// Runs the plugin's handlers of `event` (pluginhost.on); a handler that raises is logged.
std::unique_ptr<Job> makeEventJob(const QString &pluginId, const QString &event, const QVariant &payload, const QString &sender);

/// Describes every export with inspect (see Plugin::describeExports()).
std::unique_ptr<Job> makeDescribeExportsJob(const QString &pluginId, QPromise<QVariantList> promise);

} // namespace PluginHost
