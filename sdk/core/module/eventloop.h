// The asyncio loop of a plugin that uses coroutines: one per interpreter, on the plugin's own
// thread, made when the first coroutine arrives (a plugin that never uses one never imports
// asyncio). It runs whenever the mailbox is empty and it has tasks or timers (see
// Interpreter::setIdleHandler()); a job posted meanwhile makes the loop's selector return, the
// thread runs the job, then goes back into the loop. Everything here runs on the interpreter's
// thread with its GIL held.
#pragma once

#include "runtime/pythonshim.h"

#include <memory>

namespace PluginHost::Module
{

/// True for an object that `await` accepts: a coroutine, an asyncio.Future, … Imports nothing.
inline bool isAwaitable(PyObject *object)
{
    const PyAsyncMethods *async = Py_TYPE(object)->tp_as_async;
    return async && async->am_await;
}

/// Told when a task of the loop ends; owned by the loop's record of the task.
class TaskWatcher
{
public:
    virtual ~TaskWatcher();

    /*
     * The task is done: it has a result, an exception, or was cancelled. `unloading` says that
     * the loop is closing because the plugin unloads (its remaining tasks were cancelled).
     * Called once; a watcher whose task never ends is destroyed without it (when the loop
     * closes, or the interpreter ends).
     */
    virtual void finished(PyObject *task, bool unloading) = 0;

    /// The task could not be started: the Python exception that says why is set (take it).
    /// The watcher is destroyed right after.
    virtual void notStarted()
    {
    }

    /// Whether poll() should be called every few milliseconds while the task runs.
    virtual bool polls() const
    {
        return false;
    }
    /// True to cancel the task now (task.cancel(): the coroutine sees asyncio.CancelledError).
    virtual bool poll()
    {
        return false;
    }
};

/// The watcher of the task running now on the plugin's loop, or nullptr when none runs or
/// it is not one the SDK started. Identity only: for a deadline to find its task. No
/// exception is left set.
const TaskWatcher *currentTaskWatcher();

/*
 * Runs `awaitable` as a task of the plugin's loop, making the loop (and importing asyncio)
 * on first use, and hands `watcher` to it. Returns a new reference to the task, or nullptr
 * with an exception set after telling the watcher notStarted().
 */
PyObject *startTask(PyObject *awaitable, std::unique_ptr<TaskWatcher> watcher);

/*
 * Runs `awaitable` to completion on the plugin's loop and returns its result (a new
 * reference), or nullptr with its exception set: for `async def on_load()` and `on_unload()`.
 * The plugin's other tasks run meanwhile; jobs wait until it is done.
 */
PyObject *runUntilComplete(PyObject *awaitable);

/*
 * Cancels the loop's remaining tasks, gives them up to `graceSeconds` to finish (and as long
 * again to the default executor's threads), then closes the loop; tasks still running are
 * abandoned and their watchers destroyed. Nothing when the
 * plugin never made a loop. Called when the plugin unloads (Module::uninstall()).
 */
void closeEventLoop(double graceSeconds);

} // namespace PluginHost::Module
