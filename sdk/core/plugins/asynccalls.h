// Calls of `async def` exports: the coroutine the export returned runs as a task of the
// plugin's asyncio loop (module/eventloop.h), and the caller's future completes when the task
// does. Calls to async exports therefore overlap: the next one starts while this one awaits.
#pragma once

#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include <memory>

namespace PluginHost
{

class CallControl;

/*
 * CallJob's hook for an export that returned an awaitable. On the interpreter's thread with
 * the GIL held. Schedules it and settles the call's `control` from the task: its result
 * converted like a plain call's, its exception (with the coroutine's traceback) as a CallError.
 * When the caller cancels the future or the deadline passes (checked every few milliseconds
 * while the loop runs), the task is cancelled (the coroutine sees asyncio.CancelledError) and
 * the future ends cancelled or TimedOut at once. Returns 0, for Job::run().
 */
int startAsyncCall(PyObject *awaitable, std::shared_ptr<CallControl> control);

} // namespace PluginHost
