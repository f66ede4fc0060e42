#pragma once

#include "pythonshim.h"
#include "runtime.h"

#include <mutex>

namespace PluginHost::RuntimeInternal
{

// CPython 3.12 crashes when two interpreters are created at once: hold this while creating.
std::mutex &creationMutex();

// Adds a built-in module (PyImport_AppendInittab) to the runtime that has not started yet.
// False, and nothing done, once it started.
bool addBuiltinModule(const char *name, PyObject *(*initialize)());

// Live interpreter threads; the runtime finalizes only when none is left.
void interpreterStarted();
void interpreterFinished();

} // namespace PluginHost::RuntimeInternal
