// Calls of `async def` exports: the coroutine the export returned runs as a task of the
// plugin's asyncio loop (module/eventloop.h), and the caller's future completes when the task
// does. Calls to async exports therefore overlap: the next one starts while this one awaits.
#pragma once

#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "runtime/job.h"

#include <QPromise>
#include <QVariant>

#include <memory>

namespace PluginHost
{

/*
 * CallJob's hook for an export that returned an awaitable. On the interpreter's thread with
 * the GIL held. Schedules it and completes `promise` from the task: its result converted like
 * a plain call's, its exception (with the coroutine's traceback) as a CallError. When the
 * caller cancels the future or `control`'s deadline passes (checked every few milliseconds
 * while the loop runs), the task is cancelled (the coroutine sees asyncio.CancelledError) and
 * the future ends cancelled or TimedOut at once. `control` may be null. Returns 0, for
 * Job::run().
 */
int startAsyncCall(PyObject *awaitable, QPromise<QVariant> promise, std::shared_ptr<JobControl> control, const QString &pluginId, const QString &function);

} // namespace PluginHost
