#pragma once

#include "pythonshim.h"
#include "runtime.h"

#include <QStringList>

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

// Interpreters given up on (a plugin that did not unload in time, see PluginManager's
// quarantine): still alive on their threads, which end them if they ever return. `token`
// identifies one (its Interpreter). shutdown() names them instead of finalizing CPython.
PLUGINHOSTCORE_EXPORT void interpreterAbandoned(const void *token, const QString &name, const QString &reason);
PLUGINHOSTCORE_EXPORT void abandonedInterpreterEnded(const void *token);
// "org.example.stuck (on_unload() did not return within 5 s)", one per abandoned interpreter.
PLUGINHOSTCORE_EXPORT QStringList abandonedInterpreters();

// True once the process is exiting (static destruction began) with abandoned interpreters
// left: a thread of theirs that returns now must not run CPython or Qt teardown any more.
PLUGINHOSTCORE_EXPORT bool exiting();
// Blocks the calling interpreter thread for good, without its GIL: used once exiting().
[[noreturn]] PLUGINHOSTCORE_EXPORT void parkForever(PyThreadState *threadState);

} // namespace PluginHost::RuntimeInternal
