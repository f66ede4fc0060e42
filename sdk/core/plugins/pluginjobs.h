#pragma once

#include "plugin_p.h"
#include "runtime/job.h"

#include <QPromise>

namespace PluginHost
{

/// Sets sys.path, imports the entry module, runs on_load(). Stops the interpreter on failure.
/// Waits (without the GIL) for `previousInstance` first when reloading: its value is the state
/// on_unload() handed over.
std::unique_ptr<Job> makeLoadJob(std::shared_ptr<PluginShared> shared, quint64 generation, QFuture<CallResult> previousInstance, QPromise<CallResult> promise);

/// True for jobs made by makeLoadJob (a reload must not carry them to the next interpreter).
bool isLoadJob(const Job &job);

/// Calls a function of the loaded entry module.
std::unique_ptr<Job> makeCallJob(const QString &pluginId, const QString &function, const QVariantList &arguments, QPromise<QVariant> promise);

/// Runs on_unload() and drops the plugin's Python objects; `result` receives what it returned.
std::unique_ptr<Job> makeUnloadJob(std::shared_ptr<PluginShared> shared, std::shared_ptr<CallResult> result);

} // namespace PluginHost
