// The plugin's asyncio loop (see eventloop.h). In Python terms, on first use:
//
//     loop = asyncio.new_event_loop(); asyncio.set_event_loop(loop)
//     loop.add_reader(interpreter.idleWakeDescriptor(), _wake)   # a job arrived: stop
//
// and then, whenever the mailbox is empty, `loop.run_forever()` until `_wake` stops it.
// A task the SDK starts carries a done callback bound to a capsule that owns its TaskWatcher;
// `watchedTasks` maps task -> capsule for polling and for closing.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "eventloop.h"

#include "bridge/pythonerror.h"
#include "modulestate_p.h"
#include "runtime/interpreter.h"
#include "runtime/pyref.h"

#include <QString>


#include <sys/eventfd.h>

namespace PluginHost::Module
{

TaskWatcher::~TaskWatcher() = default;

namespace
{
constexpr const char *watcherCapsuleName = "pluginhost.TaskWatcher";
constexpr double pollIntervalSeconds = 0.005;

struct WatchedTask {
    std::unique_ptr<TaskWatcher> watcher; // null once told
};

WatchedTask *watchedTaskOf(PyObject *capsule)
{
    return static_cast<WatchedTask *>(PyCapsule_GetPointer(capsule, watcherCapsuleName));
}

void destroyWatchedTask(PyObject *capsule)
{
    delete watchedTaskOf(capsule);
}

// Logs the exception that is set (and clears it) to the plugin's log.
void logError(ModuleState *state, const QString &what)
{
    if (!state || !state->services) {
        PyErr_Clear();
        return;
    }
    const PluginError error = takePythonError(PluginError::Kind::PythonException, state->services->pluginId());
    state->services->log(HostServices::LogLevel::Error, QStringLiteral("%1: %2").arg(what, error.errorText()), error.fileName(), error.line());
}

// The loop's reader of the mailbox eventfd: a job waits, so give the thread back to it.
PyObject *wakeUp(PyObject *, PyObject *)
{
    if (Interpreter *interpreter = Interpreter::current()) {
        eventfd_t count = 0;
        eventfd_read(interpreter->idleWakeDescriptor(), &count); // non-blocking
    }
    ModuleState *state = currentState();
    // Only a loop run for idleness is stopped: run_until_complete() of an async on_load() must
    // not end early because a job was posted meanwhile.
    if (state && state->eventLoop && state->loopRunsIdle) {
        return PyObject_CallMethod(state->eventLoop, "stop", nullptr);
    }
    Py_RETURN_NONE;
}

PyMethodDef wakeUpDefinition = {"_pluginhost_wake", wakeUp, METH_NOARGS, PyDoc_STR("Stops the idle loop: a job arrived.")};

// The done callback of a watched task: self is the capsule that owns its watcher.
PyObject *taskDone(PyObject *capsule, PyObject *task)
{
    WatchedTask *watched = watchedTaskOf(capsule);
    if (!watched) {
        return nullptr;
    }
    std::unique_ptr<TaskWatcher> watcher = std::move(watched->watcher);
    ModuleState *state = currentState();
    if (state && state->watchedTasks && PyDict_DelItem(state->watchedTasks, task) < 0) {
        PyErr_Clear();
    }
    if (watcher) {
        watcher->finished(task, state && state->loopClosing);
    }
    if (PyErr_Occurred()) {
        logError(state, QStringLiteral("reporting the end of a task failed"));
    }
    Py_RETURN_NONE;
}

PyMethodDef taskDoneDefinition = {"_pluginhost_task_done", taskDone, METH_O, PyDoc_STR("Reports the end of a task to the host.")};

PyObject *pollTasks(PyObject *, PyObject *);
PyMethodDef pollTasksDefinition = {"_pluginhost_poll", pollTasks, METH_NOARGS, PyDoc_STR("Asks the host whether to cancel a task.")};

bool schedulePoll(ModuleState *state)
{
    PyRef poll = PyRef::steal(PyCFunction_New(&pollTasksDefinition, nullptr));
    PyRef handle = poll ? PyRef::steal(PyObject_CallMethod(state->eventLoop, "call_later", "dO", pollIntervalSeconds, poll.get())) : PyRef();
    state->pollScheduled = bool(handle);
    return state->pollScheduled;
}

// Every pollIntervalSeconds while a watcher wants it: cancels the tasks their watchers give up.
PyObject *pollTasks(PyObject *, PyObject *)
{
    ModuleState *state = currentState();
    if (!state || !state->watchedTasks || !state->eventLoop) {
        Py_RETURN_NONE;
    }
    state->pollScheduled = false;
    PyRef items = PyRef::steal(PyDict_Items(state->watchedTasks)); // a watcher may end a task
    if (!items) {
        return nullptr;
    }
    bool polling = false;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items.get()); ++i) {
        PyObject *task = PyTuple_GET_ITEM(PyList_GET_ITEM(items.get(), i), 0);
        WatchedTask *watched = watchedTaskOf(PyTuple_GET_ITEM(PyList_GET_ITEM(items.get(), i), 1));
        if (!watched || !watched->watcher || !watched->watcher->polls()) {
            PyErr_Clear();
            continue;
        }
        polling = true;
        if (watched->watcher->poll()) {
            PyRef cancelled = PyRef::steal(PyObject_CallMethod(task, "cancel", nullptr));
            if (!cancelled) {
                logError(state, QStringLiteral("a task could not be cancelled"));
            }
        }
    }
    if (polling && !schedulePoll(state)) {
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyObject *watchTask(PyObject *awaitable, std::unique_ptr<TaskWatcher> &watcher);

// The loop's selector.select(), wrapped (self is the selector's own bound select): the time
// the idle loop waits in it is idle; the time between two waits is a step of the loop running
// the plugin's code, which the supervisor watches like a job (Interpreter::loopStepStarted()).
PyObject *selectWhileIdle(PyObject *select, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Interpreter *interpreter = Interpreter::current();
    const ModuleState *state = interpreter ? currentState() : nullptr;
    const bool idleLoop = state && state->loopRunsIdle;
    if (idleLoop) {
        interpreter->loopStepEnded();
    }
    PyObject *ready = PyObject_Vectorcall(select, args, nargs, kwnames);
    if (idleLoop) {
        interpreter->loopStepStarted();
    }
    return ready;
}

PyMethodDef selectWhileIdleDefinition = {"select",
                                         reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(selectWhileIdle)),
                                         METH_FASTCALL | METH_KEYWORDS,
                                         PyDoc_STR("The selector's select(), telling the host when the loop waits.")};

// Lent the thread by the interpreter while its mailbox is empty.
bool runWhileIdle()
{
    ModuleState *state = currentState();
    if (!state || !state->eventLoop) {
        return false;
    }
    // The loop runs even without tasks: servers, readers and call_soon_threadsafe() from the
    // plugin's threads need its selector, and the mailbox reaches it through the eventfd.
    Interpreter *interpreter = Interpreter::current();
    state->loopRunsIdle = true;
    interpreter->loopStepStarted();
    PyRef ran = PyRef::steal(PyObject_CallMethod(state->eventLoop, "run_forever", nullptr));
    interpreter->loopStepEnded();
    state->loopRunsIdle = false;
    if (!ran) {
        // KeyboardInterrupt or SystemExit raised in a task, or an interrupt outside any task.
        logError(state, QStringLiteral("the asyncio loop stopped on an exception; it goes on"));
    }
    return true;
}


PyObject *ensureLoop(ModuleState *state)
{
    if (state->eventLoop) {
        return state->eventLoop;
    }
    Interpreter *interpreter = Interpreter::current();
    if (!interpreter) {
        PyErr_SetString(PyExc_RuntimeError, "the plugin's coroutines run on its own thread only, not on threads it started");
        return nullptr;
    }
    const int wakeDescriptor = interpreter->idleWakeDescriptor();
    if (wakeDescriptor < 0) {
        PyErr_SetString(PyExc_OSError, "no eventfd for the plugin's asyncio loop");
        return nullptr;
    }
    // In Python: selector = selectors.DefaultSelector(); selector.select = <selectWhileIdle>
    //            loop = asyncio.SelectorEventLoop(selector)
    PyRef asyncio = PyRef::steal(PyImport_ImportModule("asyncio"));
    PyRef selectors = asyncio ? PyRef::steal(PyImport_ImportModule("selectors")) : PyRef();
    PyRef selector = selectors ? PyRef::steal(PyObject_CallMethod(selectors.get(), "DefaultSelector", nullptr)) : PyRef();
    PyRef select = selector ? PyRef::steal(PyObject_GetAttrString(selector.get(), "select")) : PyRef();
    PyRef watchedSelect = select ? PyRef::steal(PyCFunction_New(&selectWhileIdleDefinition, select.get())) : PyRef();
    PyRef loop = watchedSelect && PyObject_SetAttrString(selector.get(), "select", watchedSelect.get()) == 0
        ? PyRef::steal(PyObject_CallMethod(asyncio.get(), "SelectorEventLoop", "O", selector.get()))
        : PyRef();
    PyRef set = loop ? PyRef::steal(PyObject_CallMethod(asyncio.get(), "set_event_loop", "O", loop.get())) : PyRef();
    PyRef wake = set ? PyRef::steal(PyCFunction_New(&wakeUpDefinition, nullptr)) : PyRef();
    PyRef reader = wake ? PyRef::steal(PyObject_CallMethod(loop.get(), "add_reader", "iO", wakeDescriptor, wake.get())) : PyRef();
    PyRef watched = reader ? PyRef::steal(PyDict_New()) : PyRef();
    if (!watched) {
        if (loop) {
            PyObject *saved = PyErr_GetRaisedException();
            PyRef closed = PyRef::steal(PyObject_CallMethod(loop.get(), "close", nullptr));
            PyErr_SetRaisedException(saved);
        }
        return nullptr;
    }
    state->watchedTasks = watched.release();
    state->eventLoop = loop.release();
    interpreter->setIdleHandler(runWhileIdle);
    return state->eventLoop;
}

} // namespace

const TaskWatcher *currentTaskWatcher()
{
    ModuleState *state = currentState();
    if (!state || !state->eventLoop || !state->watchedTasks) {
        return nullptr;
    }
    PyObject *saved = PyErr_GetRaisedException();
    const TaskWatcher *found = nullptr;
    PyRef name = PyRef::steal(PyUnicode_FromString("asyncio"));
    PyRef module = name ? PyRef::steal(PyImport_GetModule(name.get())) : PyRef();
    PyRef task = module ? PyRef::steal(PyObject_CallMethod(module.get(), "current_task", "O", state->eventLoop)) : PyRef();
    PyObject *capsule = task && task.get() != Py_None ? PyDict_GetItemWithError(state->watchedTasks, task.get()) : nullptr; // borrowed
    if (const WatchedTask *watched = capsule ? watchedTaskOf(capsule) : nullptr) {
        found = watched->watcher.get();
    }
    PyErr_Clear();
    PyErr_SetRaisedException(saved);
    return found;
}

PyObject *startTask(PyObject *awaitable, std::unique_ptr<TaskWatcher> watcher)
{
    PyRef task = PyRef::steal(watchTask(awaitable, watcher));
    if (!task && watcher) {
        watcher->notStarted();
    }
    return task.release();
}

namespace
{
// startTask(); leaves `watcher` set when it was not handed to the task.
PyObject *watchTask(PyObject *awaitable, std::unique_ptr<TaskWatcher> &watcher)
{
    ModuleState *state = currentState();
    if (!state) {
        PyErr_SetString(PyExc_RuntimeError, "coroutines need the pluginhost module");
        return nullptr;
    }
    PyObject *loop = ensureLoop(state); // borrowed
    if (!loop) {
        return nullptr;
    }
    PyRef task;
    if (PyCoro_CheckExact(awaitable)) {
        task = PyRef::steal(PyObject_CallMethod(loop, "create_task", "O", awaitable));
    } else {
        PyRef asyncio = PyRef::steal(PyImport_ImportModule("asyncio"));
        PyRef ensureFuture = asyncio ? PyRef::steal(PyObject_GetAttrString(asyncio.get(), "ensure_future")) : PyRef();
        PyRef arguments = ensureFuture ? PyRef::steal(PyTuple_Pack(1, awaitable)) : PyRef();
        PyRef keywords = arguments ? PyRef::steal(Py_BuildValue("{sO}", "loop", loop)) : PyRef();
        task = keywords ? PyRef::steal(PyObject_Call(ensureFuture.get(), arguments.get(), keywords.get())) : PyRef();
    }
    if (!task) {
        return nullptr;
    }
    const bool polls = watcher->polls();
    auto *watched = new WatchedTask{std::move(watcher)};
    PyRef capsule = PyRef::steal(PyCapsule_New(watched, watcherCapsuleName, destroyWatchedTask));
    if (!capsule) {
        watcher = std::move(watched->watcher);
        delete watched;
        return nullptr;
    }
    PyRef callback = PyRef::steal(PyCFunction_New(&taskDoneDefinition, capsule.get()));
    PyRef added = callback && PyDict_SetItem(state->watchedTasks, task.get(), capsule.get()) == 0
        ? PyRef::steal(PyObject_CallMethod(task.get(), "add_done_callback", "O", callback.get()))
        : PyRef();
    if (!added || (polls && !state->pollScheduled && !schedulePoll(state))) {
        // Unwatched, the task would run with nobody to report to: take the watcher back.
        watcher = std::move(watched->watcher);
        PyObject *error = PyErr_GetRaisedException();
        PyRef cancelled = PyRef::steal(PyObject_CallMethod(task.get(), "cancel", nullptr));
        PyErr_SetRaisedException(error);
        return nullptr;
    }
    return task.release();
}
} // namespace

PyObject *runUntilComplete(PyObject *awaitable)
{
    ModuleState *state = currentState();
    if (!state) {
        PyErr_SetString(PyExc_RuntimeError, "coroutines need the pluginhost module");
        return nullptr;
    }
    PyObject *loop = ensureLoop(state); // borrowed
    return loop ? PyObject_CallMethod(loop, "run_until_complete", "O", awaitable) : nullptr;
}

void closeEventLoop(double graceSeconds)
{
    ModuleState *state = currentState();
    if (!state || !state->eventLoop) {
        return;
    }
    PyObject *loop = state->eventLoop;
    state->loopClosing = true;
    if (Interpreter *interpreter = Interpreter::current()) {
        interpreter->setIdleHandler({});
        PyRef removed = PyRef::steal(PyObject_CallMethod(loop, "remove_reader", "i", interpreter->idleWakeDescriptor()));
        if (!removed) {
            PyErr_Clear();
        }
    }
    // Cancel what is left, give it `graceSeconds` to unwind (finally blocks, async with), and
    // close: in Python, roughly
    //     for task in asyncio.all_tasks(loop): task.cancel("the plugin is unloading")
    //     loop.run_until_complete(asyncio.wait(tasks, timeout=graceSeconds))
    //     loop.run_until_complete(loop.shutdown_asyncgens()); loop.close()
    PyRef asyncio = PyRef::steal(PyImport_ImportModule("asyncio"));
    PyRef tasks = asyncio ? PyRef::steal(PyObject_CallMethod(asyncio.get(), "all_tasks", "O", loop)) : PyRef();
    PyRef pending = tasks ? PyRef::steal(PySequence_List(tasks.get())) : PyRef();
    if (pending && PyList_GET_SIZE(pending.get()) > 0) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(pending.get()); ++i) {
            PyRef cancelled = PyRef::steal(PyObject_CallMethod(PyList_GET_ITEM(pending.get(), i), "cancel", "s", "the plugin is unloading"));
            if (!cancelled) {
                logError(state, QStringLiteral("a task could not be cancelled at unload"));
            }
        }
        PyRef wait = PyRef::steal(PyObject_GetAttrString(asyncio.get(), "wait"));
        PyRef arguments = wait ? PyRef::steal(PyTuple_Pack(1, pending.get())) : PyRef();
        PyRef keywords = arguments ? PyRef::steal(Py_BuildValue("{sd}", "timeout", graceSeconds)) : PyRef();
        PyRef waiting = keywords ? PyRef::steal(PyObject_Call(wait.get(), arguments.get(), keywords.get())) : PyRef();
        PyRef waited = waiting ? PyRef::steal(PyObject_CallMethod(loop, "run_until_complete", "O", waiting.get())) : PyRef();
        if (!waited) {
            logError(state, QStringLiteral("cancelling the tasks at unload failed"));
        }
    }
    if (PyErr_Occurred()) {
        logError(state, QStringLiteral("the tasks left at unload could not be listed"));
    }
    PyRef generators = PyRef::steal(PyObject_CallMethod(loop, "shutdown_asyncgens", nullptr));
    PyRef generatorsDone = generators ? PyRef::steal(PyObject_CallMethod(loop, "run_until_complete", "O", generators.get())) : PyRef();
    // asyncio.to_thread() and run_in_executor() threads are not daemons: the interpreter
    // cannot end before they do.
    PyRef executor = generatorsDone ? PyRef::steal(PyObject_CallMethod(loop, "shutdown_default_executor", "d", graceSeconds)) : PyRef();
    PyRef executorDone = executor ? PyRef::steal(PyObject_CallMethod(loop, "run_until_complete", "O", executor.get())) : PyRef();
    PyRef closed = executorDone ? PyRef::steal(PyObject_CallMethod(loop, "close", nullptr)) : PyRef();
    if (!closed) {
        logError(state, QStringLiteral("the asyncio loop did not close cleanly"));
    }
    PyRef unset = asyncio ? PyRef::steal(PyObject_CallMethod(asyncio.get(), "set_event_loop", "O", Py_None)) : PyRef();
    PyErr_Clear();
    // Watchers of tasks that outlived the grace are destroyed now, not whenever the tasks are
    // collected: their callers learn at once that the plugin unloaded.
    Py_ssize_t cursor = 0;
    PyObject *task = nullptr;
    PyObject *capsule = nullptr;
    while (PyDict_Next(state->watchedTasks, &cursor, &task, &capsule)) {
        if (WatchedTask *watched = watchedTaskOf(capsule)) {
            watched->watcher.reset();
        }
    }
    PyErr_Clear();
    Py_CLEAR(state->watchedTasks);
    Py_CLEAR(state->eventLoop);
    state->pollScheduled = false;
    state->loopClosing = false;
}



} // namespace PluginHost::Module
