// The `pluginhost` module: what a plugin imports to talk to its host.
//
//     import pluginhost
//
//     @pluginhost.export
//     def greet(name): return f"Hello, {name}!"
//
//     @pluginhost.on("message")
//     def on_message(event): ...          # event.name, event.payload, event.sender
//
//     pluginhost.emit("greeted", {"name": "Ada"})
//     pluginhost.call("org.example.other", "lookup", "Ada", timeout=5.0)
//     pluginhost.log.info("ready"); pluginhost.info.id; pluginhost.tr("Hello")
//     pluginhost.storage["seen"] = pluginhost.storage.get("seen", 0) + 1
//
// Multi-phase initialization (PEP 489), safe under a per-interpreter GIL: each interpreter
// gets its own module object, heap types and exception classes, all kept in module state.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "audithook.h"
#include "bridge/pythonerror.h"
#include "bridge/values.h"
#include "eventloop.h"
#include "module.h"
#include "modulestate_p.h"
#include "runtime/interpreter.h"
#include "runtime/pyref.h"
#include "runtime/runtime_p.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace PluginHost
{

HostServices::~HostServices() = default;

namespace Module
{

namespace
{
constexpr const char *servicesKey = "pluginhost.services"; // in the interpreter's dict
constexpr const char *servicesCapsuleName = "pluginhost.HostServices";

constexpr const char *moduleKey = "pluginhost.module"; // in the interpreter's dict
constexpr const char *streamsKey = "pluginhost.streams"; // in the interpreter's dict: (stdout, stderr)

// How long the tasks still running at unload get to unwind once cancelled.
constexpr double unloadGraceSeconds = 1.0;

// Text that can cross to the host; false with UnicodeEncodeError set otherwise.
bool textOf(PyObject *text, QString *out)
{
    return Values::toQString(text, out);
}

// The interpreter's one pluginhost module (new reference), kept in the interpreter's dict by
// the exec slot, so that removing it from sys.modules cannot make a second one.
PyRef currentModule()
{
    PyObject *interpreterDict = PyInterpreterState_GetDict(PyInterpreterState_Get()); // borrowed
    PyObject *module = interpreterDict ? PyDict_GetItemString(interpreterDict, moduleKey) : nullptr; // borrowed
    return PyRef::borrow(module);
}

// --- export ------------------------------------------------------------------------------

PyObject *registerExport(PyObject *module, PyObject *function, PyObject *name, bool reentrant)
{
    ModuleState *state = stateOf(module);
    if (!PyCallable_Check(function)) {
        PyErr_Format(PyExc_TypeError, "pluginhost.export() needs a function, got %s", Py_TYPE(function)->tp_name);
        return nullptr;
    }
    if (!servicesOrRaise(state)) {
        return nullptr; // unloading: nothing would call it, and the module may be cleared
    }
    PyRef exportName = name && name != Py_None ? PyRef::borrow(name) : PyRef::steal(PyObject_GetAttrString(function, "__name__"));
    if (!exportName) {
        return nullptr;
    }
    if (!PyUnicode_Check(exportName.get()) || PyUnicode_GET_LENGTH(exportName.get()) == 0) {
        PyErr_Format(PyExc_TypeError, "an export's name must be a non-empty str, got %R", exportName.get());
        return nullptr;
    }
    QString checked;
    if (!textOf(exportName.get(), &checked)) {
        return nullptr;
    }
    PyObject *existing = PyDict_GetItemWithError(state->exports, exportName.get()); // borrowed
    if (existing) {
        PyErr_Format(PyExc_ValueError, "'%U' is exported twice (already by %R); give one of them another name with export(name=...)", exportName.get(), existing);
        return nullptr;
    }
    if (PyErr_Occurred() || PyDict_SetItem(state->exports, exportName.get(), function) < 0) {
        return nullptr;
    }
    if (reentrant && PySet_Add(state->reentrant, exportName.get()) < 0) {
        return nullptr;
    }
    return Py_NewRef(function);
}

// What @export(name=..., reentrant=...) returns: bound to (module, name, reentrant).
PyObject *exportWithOptions(PyObject *options, PyObject *function)
{
    return registerExport(PyTuple_GET_ITEM(options, 0), function, PyTuple_GET_ITEM(options, 1), PyTuple_GET_ITEM(options, 2) == Py_True);
}

PyMethodDef exportWithOptionsDefinition = {"export", exportWithOptions, METH_O, PyDoc_STR("export($self, function, /)\n--\n\nExports function.")};

PyObject *pluginhost_export(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static const char *keywords[] = {"", "name", "reentrant", nullptr};
    PyObject *function = nullptr;
    PyObject *name = Py_None;
    int reentrant = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$Op:export", const_cast<char **>(keywords), &function, &name, &reentrant)) {
        return nullptr;
    }
    if (function) {
        return registerExport(module, function, name, reentrant != 0);
    }
    PyRef options = PyRef::steal(Py_BuildValue("(OOO)", module, name, reentrant ? Py_True : Py_False));
    return options ? PyCFunction_New(&exportWithOptionsDefinition, options.get()) : nullptr;
}

// --- on ----------------------------------------------------------------------------------

PyObject *subscribe(PyObject *options, PyObject *handler)
{
    PyObject *module = PyTuple_GET_ITEM(options, 0);
    PyObject *event = PyTuple_GET_ITEM(options, 1);
    ModuleState *state = stateOf(module);
    if (!PyCallable_Check(handler)) {
        PyErr_Format(PyExc_TypeError, "pluginhost.on(%R) needs a function that takes an Event, got %s", event, Py_TYPE(handler)->tp_name);
        return nullptr;
    }
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return nullptr;
    }
    PyObject *handlers = PyDict_GetItemWithError(state->handlers, event); // borrowed
    if (!handlers) {
        if (PyErr_Occurred()) {
            return nullptr;
        }
        PyRef list = PyRef::steal(PyList_New(0));
        if (!list || PyDict_SetItem(state->handlers, event, list.get()) < 0) {
            return nullptr;
        }
        handlers = list.get(); // the dict keeps it alive
    }
    if (PyList_Append(handlers, handler) < 0) {
        return nullptr;
    }
    QString eventName;
    textOf(event, &eventName); // checked by on()
    services->subscribe(eventName);
    return Py_NewRef(handler);
}

PyMethodDef subscribeDefinition = {"on", subscribe, METH_O, PyDoc_STR("on($self, handler, /)\n--\n\nSubscribes handler.")};

PyObject *pluginhost_on(PyObject *module, PyObject *event)
{
    if (!PyUnicode_Check(event) || PyUnicode_GET_LENGTH(event) == 0) {
        PyErr_Format(PyExc_TypeError, "pluginhost.on() needs an event name (a non-empty str), got %R", event);
        return nullptr;
    }
    QString checked;
    if (!textOf(event, &checked)) {
        return nullptr;
    }
    PyRef options = PyRef::steal(PyTuple_Pack(2, module, event));
    return options ? PyCFunction_New(&subscribeDefinition, options.get()) : nullptr;
}

// --- emit, call --------------------------------------------------------------------------

PyObject *pluginhost_emit(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2 || !PyUnicode_Check(args[0]) || PyUnicode_GET_LENGTH(args[0]) == 0) {
        PyErr_SetString(PyExc_TypeError, "emit() takes an event name (a non-empty str) and an optional payload");
        return nullptr;
    }
    HostServices *services = servicesOrRaise(stateOf(module));
    if (!services) {
        return nullptr;
    }
    QString event;
    QVariant payload;
    if (!textOf(args[0], &event) || (nargs == 2 && !Values::fromPython(args[1], &payload, QStringLiteral("payload")))) {
        return nullptr;
    }
    services->emitEvent(event, payload);
    Py_RETURN_NONE;
}

PyObject *pluginhost_call(PyObject *module, PyObject *args, PyObject *kwargs)
{
    const Py_ssize_t count = PyTuple_GET_SIZE(args);
    if (count < 2 || !PyUnicode_Check(PyTuple_GET_ITEM(args, 0)) || !PyUnicode_Check(PyTuple_GET_ITEM(args, 1))) {
        PyErr_SetString(PyExc_TypeError, "call() takes a plugin id and a function name (both str), then the function's arguments");
        return nullptr;
    }
    std::optional<std::chrono::milliseconds> timeout;
    if (kwargs) {
        Py_ssize_t cursor = 0;
        PyObject *key = nullptr;
        PyObject *value = nullptr;
        while (PyDict_Next(kwargs, &cursor, &key, &value)) {
            if (PyUnicode_CompareWithASCIIString(key, "timeout") != 0) {
                PyErr_Format(PyExc_TypeError, "call() got an unexpected keyword argument %R; keyword arguments cannot cross to another plugin", key);
                return nullptr;
            }
            if (value != Py_None) {
                if (PyBool_Check(value)) {
                    PyErr_SetString(PyExc_TypeError, "call() timeout is a number of seconds or None, not a bool");
                    return nullptr;
                }
                const double seconds = PyFloat_AsDouble(value);
                if (seconds == -1.0 && PyErr_Occurred()) {
                    return nullptr;
                }
                if (std::isnan(seconds) || seconds < 0) {
                    PyErr_Format(PyExc_ValueError, "call() timeout must be a number of seconds >= 0 or None, got %R", value);
                    return nullptr;
                }
                // Beyond a year is no limit (inf included); anything above zero waits at least 1 ms.
                if (seconds <= 365.0 * 24 * 3600) {
                    timeout = std::chrono::milliseconds(qint64(std::ceil(seconds * 1000.0)));
                }
            }
        }
    }
    ModuleState *state = stateOf(module);
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return nullptr;
    }
    QVariantList arguments;
    for (Py_ssize_t i = 2; i < count; ++i) {
        QVariant argument;
        if (!Values::fromPython(PyTuple_GET_ITEM(args, i), &argument, QStringLiteral("args[%1]").arg(i - 2))) {
            return nullptr;
        }
        arguments.append(argument);
    }
    QString pluginId;
    QString function;
    if (!textOf(PyTuple_GET_ITEM(args, 0), &pluginId) || !textOf(PyTuple_GET_ITEM(args, 1), &function)) {
        return nullptr;
    }
    CallResult result;
    Py_BEGIN_ALLOW_THREADS // the other plugin may take long; never hold this GIL meanwhile
        result = services->callPlugin(pluginId, function, arguments, timeout);
    Py_END_ALLOW_THREADS
    if (!result) {
        return raise(result.error());
    }
    return Values::toPython(result.value(), QStringLiteral("the result of %1.%2()").arg(pluginId, function));
}

// --- tr, translate -----------------------------------------------------------------------

PyObject *pluginhost_tr(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "tr() needs a str, got %s", Py_TYPE(text)->tp_name);
        return nullptr;
    }
    HostServices *services = servicesOrRaise(stateOf(module));
    QString source;
    if (!services || !textOf(text, &source)) {
        return nullptr;
    }
    return Values::fromQString(services->translate(QString(), source));
}

PyObject *pluginhost_translate(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "translate() takes a context and a text, both str");
        return nullptr;
    }
    HostServices *services = servicesOrRaise(stateOf(module));
    QString context;
    QString source;
    if (!services || !textOf(args[0], &context) || !textOf(args[1], &source)) {
        return nullptr;
    }
    return Values::fromQString(services->translate(context, source));
}

// --- sleep -------------------------------------------------------------------------------

PyObject *pluginhost_sleep(PyObject *, PyObject *seconds)
{
    if (PyBool_Check(seconds)) {
        PyErr_SetString(PyExc_TypeError, "sleep() takes a number of seconds, not a bool");
        return nullptr;
    }
    const double value = PyFloat_AsDouble(seconds);
    if (value == -1.0 && PyErr_Occurred()) {
        return nullptr;
    }
    if (std::isnan(value) || value < 0) {
        PyErr_Format(PyExc_ValueError, "sleep() needs a number of seconds >= 0, got %R", seconds);
        return nullptr;
    }
    Interpreter *interpreter = Interpreter::current();
    if (!interpreter) {
        // A thread the plugin started: the host sends it nothing to wake up for.
        PyRef time = PyRef::steal(PyImport_ImportModule("time"));
        return time ? PyObject_CallMethod(time.get(), "sleep", "O", seconds) : nullptr;
    }
    const double capped = std::min(value, 365.0 * 24 * 3600); // beyond a year is forever
    if (interpreter->sleep(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(capped))) < 0) {
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyMethodDef moduleMethods[] = {
    {"export",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(pluginhost_export)),
     METH_VARARGS | METH_KEYWORDS,
     PyDoc_STR("export($module, function=None, /, *, name=None, reentrant=False)\n--\n\n"
               "Decorator: makes function callable by the host and by other plugins, under its own\n"
               "name or `name`. `reentrant=True` lets calls to it run while another call of this\n"
               "plugin is busy. Returns the function unchanged.")},
    {"on",
     pluginhost_on,
     METH_O,
     PyDoc_STR("on($module, event, /)\n--\n\n"
               "Decorator: calls the function with a pluginhost.Event whenever another plugin or\n"
               "the host emits `event`.")},
    {"emit",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(pluginhost_emit)),
     METH_FASTCALL,
     PyDoc_STR("emit($module, event, payload=None, /)\n--\n\n"
               "Sends a copy of payload to the host and to every other plugin subscribed to event.")},
    {"call",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(pluginhost_call)),
     METH_VARARGS | METH_KEYWORDS,
     PyDoc_STR("call($module, plugin, function, /, *args, timeout=None)\n--\n\n"
               "Calls an export of another plugin and returns its result. Raises PluginError when\n"
               "it fails or would wait on itself (a cycle), TimeoutError after `timeout` seconds.")},
    {"sleep",
     pluginhost_sleep,
     METH_O,
     PyDoc_STR("sleep($module, seconds, /)\n--\n\n"
               "Waits `seconds` without holding the GIL, like time.sleep(), except that the host can\n"
               "interrupt it: re-entrant calls run meanwhile, and a cancelled or timed-out call\n"
               "raises pluginhost.Cancelled out of it at once. In a coroutine, await asyncio.sleep().")},
    {"tr", pluginhost_tr, METH_O, PyDoc_STR("tr($module, text, /)\n--\n\nThe translation of text from the plugin's .qm catalogs, or text.")},
    {"translate",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(pluginhost_translate)),
     METH_FASTCALL,
     PyDoc_STR("translate($module, context, text, /)\n--\n\nThe translation of text in context, or text.")},
    {nullptr, nullptr, 0, nullptr},
};

// --- state, exec, definition -------------------------------------------------------------

int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModuleState *state = stateOf(module);
    Py_VISIT(state->eventType);
    Py_VISIT(state->infoType);
    Py_VISIT(state->loggerType);
    Py_VISIT(state->streamType);
    Py_VISIT(state->storageType);
    Py_VISIT(state->transactionType);
    Py_VISIT(state->bufferType);
    Py_VISIT(state->pluginError);
    Py_VISIT(state->cancelled);
    Py_VISIT(state->permissionDenied);
    Py_VISIT(state->exports);
    Py_VISIT(state->reentrant);
    Py_VISIT(state->handlers);
    Py_VISIT(state->eventLoop);
    Py_VISIT(state->watchedTasks);
    return 0;
}

int module_clear(PyObject *module)
{
    ModuleState *state = stateOf(module);
    Py_CLEAR(state->eventType);
    Py_CLEAR(state->infoType);
    Py_CLEAR(state->loggerType);
    Py_CLEAR(state->streamType);
    Py_CLEAR(state->storageType);
    Py_CLEAR(state->transactionType);
    Py_CLEAR(state->bufferType);
    Py_CLEAR(state->pluginError);
    Py_CLEAR(state->cancelled);
    Py_CLEAR(state->permissionDenied);
    Py_CLEAR(state->exports);
    Py_CLEAR(state->reentrant);
    Py_CLEAR(state->handlers);
    Py_CLEAR(state->eventLoop);
    Py_CLEAR(state->watchedTasks);
    return 0;
}

void module_free(void *module)
{
    module_clear(static_cast<PyObject *>(module));
}

// Creates an object of `type` (PluginInfo, Logger) and adds it to the module as `name`.
int addInstance(PyObject *module, PyObject *type, const char *name)
{
    PyObject *instance = reinterpret_cast<PyObject *>(PyObject_GC_New(PyObject, reinterpret_cast<PyTypeObject *>(type)));
    if (!instance) {
        return -1;
    }
    PyObject_GC_Track(instance);
    const int result = PyModule_AddObjectRef(module, name, instance);
    Py_DECREF(instance);
    return result;
}

int module_exec(PyObject *module)
{
    ModuleState *state = stateOf(module);
    PyObject *interpreterDict = PyInterpreterState_GetDict(PyInterpreterState_Get()); // borrowed
    PyObject *capsule = interpreterDict ? PyDict_GetItemString(interpreterDict, servicesKey) : nullptr; // borrowed
    state->services = capsule ? static_cast<HostServices *>(PyCapsule_GetPointer(capsule, servicesCapsuleName)) : nullptr;
    if (!state->services) {
        PyErr_SetString(PyExc_ImportError, "pluginhost can only be imported by a plugin that PluginHost runs");
        return -1;
    }
    if (PyDict_GetItemString(interpreterDict, moduleKey)) {
        // A second module would hold exports and handlers the host never sees.
        PyErr_SetString(PyExc_ImportError,
                        "pluginhost was already imported by this plugin and then removed from sys.modules; "
                        "import it once and keep it there");
        return -1;
    }

    state->eventType = createEventType(module);
    state->infoType = createInfoType(module);
    state->loggerType = createLoggerType(module);
    state->streamType = createStreamType(module);
    state->storageType = createStorageType(module);
    state->transactionType = createTransactionType(module);
    if (!state->eventType || !state->infoType || !state->loggerType || !state->streamType || !state->storageType || !state->transactionType) {
        return -1;
    }
    state->bufferType = createBufferType(module);
    if (!state->bufferType || PyModule_AddObjectRef(module, "Buffer", state->bufferType) < 0) {
        return -1;
    }
    state->pluginError = PyErr_NewExceptionWithDoc("pluginhost.PluginError", "A call through the host failed, or the host refused a request.", nullptr, nullptr);
    if (!state->pluginError) {
        return -1;
    }
    state->cancelled = PyErr_NewExceptionWithDoc("pluginhost.Cancelled",
                                                 "The host cancelled the running call (a deadline passed or the caller gave up). "
                                                 "A BaseException, so that `except Exception` does not swallow it.",
                                                 PyExc_BaseException,
                                                 nullptr);
    // Also a PermissionError, so that code prepared for the system refusing a file or a socket
    // (the import system writing bytecode caches, for one) handles a refused permission alike.
    PyRef permissionBases = PyRef::steal(PyTuple_Pack(2, state->pluginError, PyExc_PermissionError));
    state->permissionDenied = permissionBases ? PyErr_NewExceptionWithDoc("pluginhost.PermissionDenied",
                                                                          "The plugin lacks the permission (X-PluginHost-Permissions) for what it tried.",
                                                                          permissionBases.get(),
                                                                          nullptr)
                                              : nullptr;
    state->exports = PyDict_New();
    state->reentrant = PySet_New(nullptr);
    state->handlers = PyDict_New();
    if (!state->cancelled || !state->permissionDenied || !state->exports || !state->reentrant || !state->handlers) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Event", state->eventType) < 0 || PyModule_AddObjectRef(module, "PluginInfo", state->infoType) < 0
        || PyModule_AddObjectRef(module, "Logger", state->loggerType) < 0 || PyModule_AddObjectRef(module, "Storage", state->storageType) < 0
        || PyModule_AddObjectRef(module, "StorageTransaction", state->transactionType) < 0 || PyModule_AddObjectRef(module, "PluginError", state->pluginError) < 0
        || PyModule_AddObjectRef(module, "Cancelled", state->cancelled) < 0 || PyModule_AddObjectRef(module, "PermissionDenied", state->permissionDenied) < 0) {
        return -1;
    }
    if (addInstance(module, state->infoType, "info") < 0 || addInstance(module, state->loggerType, "log") < 0
        || addInstance(module, state->storageType, "storage") < 0) {
        return -1;
    }
    return PyDict_SetItemString(interpreterDict, moduleKey, module); // only a complete module becomes the one
}

PyModuleDef_Slot moduleSlots[] = {
    {Py_mod_exec, reinterpret_cast<void *>(module_exec)},
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#if PLUGINHOST_HAS_MOD_GIL
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, nullptr},
};

PyObject *initialize()
{
    return PyModuleDef_Init(&moduleDefinition);
}

} // namespace

PyModuleDef moduleDefinition = {
    PyModuleDef_HEAD_INIT,
    "pluginhost",
    PyDoc_STR("The host's API for plugins: exports, events, calls to other plugins, storage, logging, translations."),
    sizeof(ModuleState),
    moduleMethods,
    moduleSlots,
    module_traverse,
    module_clear,
    module_free,
};

ModuleState *currentState()
{
    PyRef module = currentModule();
    return module ? stateOf(module.get()) : nullptr; // the interpreter's dict keeps the module
}

HostServices *servicesOrRaise(ModuleState *state)
{
    if (!state || !state->services) {
        // At interpreter teardown the module's exception classes may be cleared already.
        PyErr_SetString(state && state->pluginError ? state->pluginError : PyExc_RuntimeError, "the plugin is unloading: the host no longer answers");
        return nullptr;
    }
    return state->services;
}

// --- the C++ side (module.h) -------------------------------------------------------------

void registerBuiltin()
{
    RuntimeInternal::addBuiltinModule("pluginhost", initialize);
}

namespace
{
// Loading the SDK registers the module, so it is there however the runtime gets started.
[[maybe_unused]] const bool s_registered = (registerBuiltin(), true);
}

bool install(HostServices *services)
{
    PyObject *interpreterDict = PyInterpreterState_GetDict(PyInterpreterState_Get()); // borrowed
    PyRef capsule = PyRef::steal(PyCapsule_New(services, servicesCapsuleName, nullptr));
    if (!interpreterDict || !capsule || PyDict_SetItemString(interpreterDict, servicesKey, capsule.get()) < 0) {
        return false;
    }
    PyRef module = PyRef::steal(PyImport_ImportModule("pluginhost"));
    if (!module) {
        return false;
    }
    ModuleState *state = stateOf(module.get());
    if (!installAuditHook(*services, state->permissionDenied)) { // before any plugin code runs
        return false;
    }
    PyRef out = PyRef::steal(newStream(state, HostServices::LogLevel::Info));
    PyRef error = PyRef::steal(newStream(state, HostServices::LogLevel::Warning));
    // Kept where the plugin cannot replace them, for uninstall() to flush.
    PyRef streams = out && error ? PyRef::steal(PyTuple_Pack(2, out.get(), error.get())) : PyRef();
    if (!streams || PyDict_SetItemString(interpreterDict, streamsKey, streams.get()) < 0) {
        return false;
    }
    // sys.__stdout__ and sys.__stderr__ too: code that puts "the original" streams back must
    // not write to the host's own.
    return PySys_SetObject("stdout", out.get()) == 0 && PySys_SetObject("stderr", error.get()) == 0 && PySys_SetObject("__stdout__", out.get()) == 0
        && PySys_SetObject("__stderr__", error.get()) == 0;
}

void uninstall()
{
    closeEventLoop(unloadGraceSeconds); // its tasks may still log, emit and use storage
    PyObject *interpreterDict = PyInterpreterState_GetDict(PyInterpreterState_Get()); // borrowed
    PyObject *streams = interpreterDict ? PyDict_GetItemString(interpreterDict, streamsKey) : nullptr; // borrowed
    if (streams && PyTuple_Check(streams)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(streams); ++i) {
            flushStream(PyTuple_GET_ITEM(streams, i));
        }
    }
    if (PyRef module = currentModule()) {
        stateOf(module.get())->services = nullptr;
    }
    if (interpreterDict) {
        for (const char *key : {servicesKey, streamsKey}) {
            if (PyDict_DelItemString(interpreterDict, key) < 0) {
                PyErr_Clear();
            }
        }
    }
}

QList<ExportInfo> exports()
{
    QList<ExportInfo> found;
    PyRef module = currentModule();
    if (!module) {
        return found;
    }
    ModuleState *state = stateOf(module.get());
    Py_ssize_t cursor = 0;
    PyObject *name = nullptr;
    PyObject *function = nullptr;
    while (PyDict_Next(state->exports, &cursor, &name, &function)) {
        QString text;
        textOf(name, &text); // checked by export()
        found.append({text, PySet_Contains(state->reentrant, name) == 1});
    }
    return found;
}

PyObject *findExport(const QString &name)
{
    PyRef module = currentModule();
    PyRef key = PyRef::steal(Values::fromQString(name));
    if (!module || !key) {
        PyErr_Clear();
        return nullptr;
    }
    return findExport(module.get(), key.get());
}

PyObject *installedModule()
{
    return currentModule().release();
}

PyObject *findExport(PyObject *module, PyObject *name)
{
    PyObject *function = PyDict_GetItemWithError(stateOf(module)->exports, name); // borrowed
    PyErr_Clear();
    return Py_XNewRef(function);
}

QStringList subscriptions()
{
    QStringList events;
    PyRef module = currentModule();
    if (!module) {
        return events;
    }
    Py_ssize_t cursor = 0;
    PyObject *event = nullptr;
    PyObject *handlers = nullptr;
    while (PyDict_Next(stateOf(module.get())->handlers, &cursor, &event, &handlers)) {
        QString text;
        textOf(event, &text); // checked by on()
        events.append(text);
    }
    return events;
}

namespace
{
// Logs the exception that is set, raised by a handler of `event`.
void logHandlerError(ModuleState *state, const QString &event)
{
    if (!state->services) {
        return;
    }
    const PluginError error = takePythonError(PluginError::Kind::PythonException, state->services->pluginId());
    state->services->log(HostServices::LogLevel::Error, QStringLiteral("a handler of event '%1' raised: %2").arg(event, error.errorText()), error.fileName(), error.line());
}

// The task of an `async def` handler: logs what it raised, like a plain handler's exception.
class HandlerWatcher : public TaskWatcher
{
public:
    explicit HandlerWatcher(const QString &event)
        : m_event(event)
    {
    }

    void finished(PyObject *task, bool) override
    {
        PyRef cancelled = PyRef::steal(PyObject_CallMethod(task, "cancelled", nullptr));
        if (!cancelled || cancelled.get() == Py_True) {
            PyErr_Clear();
            return; // cancelled at unload, or by the plugin itself: nothing to report
        }
        PyRef exception = PyRef::steal(PyObject_CallMethod(task, "exception", nullptr));
        ModuleState *state = currentState();
        if (!exception || !state) {
            PyErr_Clear();
            return;
        }
        if (exception.get() != Py_None) {
            PyErr_SetRaisedException(exception.release());
            logHandlerError(state, m_event);
        }
    }

private:
    const QString m_event;
};
} // namespace

int deliverEvent(const QString &event, const QVariant &payload, const QString &sender)
{
    PyRef module = currentModule();
    PyRef eventName = module ? PyRef::steal(Values::fromQString(event)) : PyRef();
    PyRef senderName = eventName ? PyRef::steal(Values::fromQString(sender)) : PyRef();
    if (!senderName) {
        PyErr_Clear();
        return 0;
    }
    return deliverEvent(module.get(), event, eventName.get(), payload, senderName.get());
}

int deliverEvent(PyObject *module, const QString &event, PyObject *eventName, const QVariant &payload, PyObject *sender)
{
    ModuleState *state = stateOf(module);
    PyObject *handlers = PyDict_GetItemWithError(state->handlers, eventName); // borrowed
    if (!handlers) {
        PyErr_Clear();
        return 0;
    }
    PyRef snapshot = PyRef::steal(PyList_GetSlice(handlers, 0, PyList_GET_SIZE(handlers))); // a handler may subscribe more
    PyRef payloadObject = PyRef::steal(Values::toPython(payload, QStringLiteral("payload")));
    PyRef eventObject = payloadObject ? PyRef::steal(newEvent(state, eventName, payloadObject.get(), sender)) : PyRef();
    if (!snapshot || !eventObject) {
        PyErr_Clear();
        return 0;
    }
    int ran = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(snapshot.get()); ++i) {
        PyRef result = PyRef::steal(PyObject_CallOneArg(PyList_GET_ITEM(snapshot.get(), i), eventObject.get()));
        ++ran;
        if (result && isAwaitable(result.get())) {
            // An `async def` handler: it runs on as a task; its exception is logged when it ends.
            result = PyRef::steal(startTask(result.get(), std::make_unique<HandlerWatcher>(event)));
        }
        if (!result) {
            logHandlerError(state, event);
        }
        PyErr_Clear();
    }
    return ran;
}

bool isCancelled(PyObject *exception)
{
    ModuleState *state = currentState();
    return state && state->cancelled && PyObject_TypeCheck(exception, reinterpret_cast<PyTypeObject *>(state->cancelled));
}

PyObject *raise(const PluginError &error)
{
    PyRef module = currentModule();
    if (!module) {
        PyErr_SetString(PyExc_RuntimeError, error.errorText().toUtf8().constData());
        return nullptr;
    }
    ModuleState *state = stateOf(module.get());
    PyObject *type = state->pluginError;
    if (error.kind() == PluginError::Kind::Cancelled) {
        type = state->cancelled;
    } else if (error.kind() == PluginError::Kind::TimedOut) {
        type = PyExc_TimeoutError;
    }
    if (!type) {
        type = PyExc_RuntimeError; // the module is being cleared at interpreter teardown
    }
    PyErr_SetString(type, error.errorText().toUtf8().constData());
    return nullptr;
}

} // namespace Module
} // namespace PluginHost
