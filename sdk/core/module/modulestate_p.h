// Shared by the files of the `pluginhost` module: its state and its type factories.
#pragma once

#include "hostservices.h"
#include "runtime/pythonshim.h"

namespace PluginHost::Module
{

// Everything the module owns. One per module object, that is one per interpreter.
struct ModuleState {
    PyObject *eventType; // pluginhost.Event
    PyObject *infoType; // type(pluginhost.info)
    PyObject *loggerType; // type(pluginhost.log)
    PyObject *streamType; // what sys.stdout and sys.stderr become
    PyObject *storageType; // type(pluginhost.storage)
    PyObject *transactionType; // what storage.transaction() returns
    PyObject *bufferType; // pluginhost.Buffer
    PyObject *pluginError; // pluginhost.PluginError
    PyObject *cancelled; // pluginhost.Cancelled (a BaseException)
    PyObject *permissionDenied; // pluginhost.PermissionDenied (a PluginError)
    PyObject *exports; // dict: name -> callable, in export order
    PyObject *reentrant; // set of export names
    PyObject *handlers; // dict: event name -> list of callables
    HostServices *services; // not owned; null once the plugin is unloading
    // asyncio (eventloop.cpp), made when the first coroutine arrives
    PyObject *eventLoop; // the plugin's asyncio loop, or null
    PyObject *watchedTasks; // dict: task -> capsule owning its TaskWatcher
    bool loopRunsIdle; // the loop runs because the mailbox is empty: a job stops it
    bool loopClosing; // the plugin unloads: its tasks are being cancelled
    bool pollScheduled; // a poll of the watched tasks is scheduled on the loop
};

extern PyModuleDef moduleDefinition;

// The state of `module`; nullptr for nullptr (what PyType_GetModule() gives for a type cleared
// at interpreter teardown). Its memory lives as long as the module object, but once the module
// was cleared its objects are null: code that may run then checks servicesOrRaise() first.
inline ModuleState *stateOf(PyObject *module)
{
    return module ? static_cast<ModuleState *>(PyModule_GetState(module)) : nullptr;
}

/*
 * The state of the module that defined `type` (for slots, which get no defining_class), or
 * nullptr once the type was cleared; sets no exception and keeps the one set, so that a
 * tp_dealloc may call it.
 *
 * No type of the module can be subclassed, so `type` is always the defining class and its own
 * module reference is the answer. PyType_GetModuleByDef() walks tp_mro when that reference is
 * gone, and in the last collection of Py_EndInterpreter() type_clear() resets both: an instance
 * freed after its type was cleared (a transaction left open in a module global) would make it
 * read a null tp_mro.
 */
inline ModuleState *stateOfType(PyTypeObject *type)
{
    PyObject *pending = PyErr_GetRaisedException();
    PyObject *module = PyType_GetModule(type); // borrowed; nullptr with TypeError once cleared
    PyErr_SetRaisedException(pending); // drops that TypeError
    return module && PyModule_GetDef(module) == &moduleDefinition ? stateOf(module) : nullptr;
}

// tp_traverse of the module's types that hold no Python objects: a heap type's instances
// keep their type alive, so they visit it.
inline int visitType(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

// tp_dealloc of those types: untrack, free, then drop the reference to the type.
inline void deallocPlain(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    type->tp_free(self);
    Py_DECREF(type);
}

// The services, or nullptr with pluginhost.PluginError set when the plugin is unloading (a
// RuntimeError when the module itself is being cleared at interpreter teardown; `state` may be
// nullptr then).
HostServices *servicesOrRaise(ModuleState *state);

// The state of the calling interpreter's pluginhost module; nullptr (no exception set) when
// the interpreter has none.
ModuleState *currentState();

// Heap types, created by the exec slot (moduletypes.cpp).
PyObject *createEventType(PyObject *module);
PyObject *createInfoType(PyObject *module);
PyObject *createLoggerType(PyObject *module);
PyObject *createStreamType(PyObject *module);
// storagetype.cpp
PyObject *createStorageType(PyObject *module);
PyObject *createTransactionType(PyObject *module);
// buffertype.cpp
PyObject *createBufferType(PyObject *module);

// A new pluginhost.Event, or nullptr with an exception set.
PyObject *newEvent(ModuleState *state, PyObject *name, PyObject *payload, PyObject *sender);

// A new stream that writes whole lines to the plugin's log at `level`.
PyObject *newStream(ModuleState *state, HostServices::LogLevel level);
// Logs what a stream still holds after its last newline.
void flushStream(PyObject *stream);

} // namespace PluginHost::Module
