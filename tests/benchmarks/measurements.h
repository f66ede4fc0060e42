// Every measurement of pluginhost-bench. To add one: write a function returning a Result
// (SDK figure, and the raw baseline measured in the same run where there is one), declare
// it here and add one line to the list in main.cpp.
#pragma once

#include "harness.h"

namespace Bench
{

// lifecyclebench.cpp
Result measureLoadCold(const Settings &settings);
Result measureUnload(const Settings &settings);
Result measureResidentPerPlugin(const Settings &settings);
Result measureChildProcessResident(const Settings &settings);

/// The hidden --rss-probe mode: in this fresh process, load every plugin under `pluginsRoot`
/// through the SDK ("sdk") or as raw interpreters ("raw") and print the RSS growth per plugin.
int runResidentProbe(const QString &mode, const QString &pluginsRoot);

// reloadbench.cpp
Result measureReload(const Settings &settings);
Result measureReloadLeak(const Settings &settings);

/// The hidden --leak-probe mode: in this fresh process, reload plugins/stateful through the SDK
/// ("sdk") or create and end raw interpreters ("raw") and print the RSS growth per cycle of
/// each segment of cycles, on one line.
int runReloadLeakProbe(const QString &mode, const QString &pluginsRoot);

// callbench.cpp
Result measureCallRoundTrip(const Settings &settings);
Result measureCallRoundTripOtherCpu(const Settings &settings);
Result measureCallRoundTripGui(const Settings &settings);
Result measurePipeRoundTrip(const Settings &settings);
Result measureCallThroughput(const Settings &settings);

// bufferbench.cpp
Result measureBufferPass(const Settings &settings);

// deliverybench.cpp
Result measureBusyDelivery(const Settings &settings);

// eventbench.cpp
Result measureEventFanout(const Settings &settings);
Result measureEventFanoutFromPlugin(const Settings &settings);

// parallelbench.cpp
Result measureParallelSpeedup(const Settings &settings);
Result measureParallelSpeedupSharedGil(const Settings &settings);
Result measurePythonWork(const Settings &settings);

} // namespace Bench
