#pragma once

#include "runtime.h"

#include <mutex>

namespace PluginHost::RuntimeInternal
{

// CPython 3.12 crashes when two interpreters are created at once: hold this while creating.
std::mutex &creationMutex();

// Live interpreter threads; the runtime finalizes only when none is left.
void interpreterStarted();
void interpreterFinished();

} // namespace PluginHost::RuntimeInternal
