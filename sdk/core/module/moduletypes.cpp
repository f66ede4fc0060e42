// The heap types of the `pluginhost` module: Event (what handlers receive), PluginInfo
// (pluginhost.info), Logger (pluginhost.log) and the line-buffered stream that replaces
// sys.stdout and sys.stderr. Each is made from the module with PyType_FromModuleAndSpec.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "bridge/values.h"
#include "module.h"
#include "modulestate_p.h"

#include <QString>

namespace PluginHost::Module
{

namespace
{

// File and line of the Python code calling into the module, for log records.
void callerLocation(QString *fileName, int *line)
{
    PyFrameObject *frame = PyEval_GetFrame(); // borrowed
    if (!frame) {
        return;
    }
    *line = PyFrame_GetLineNumber(frame);
    PyCodeObject *code = PyFrame_GetCode(frame);
    PyObject *file = PyObject_GetAttrString(reinterpret_cast<PyObject *>(code), "co_filename");
    if (file && PyUnicode_Check(file)) {
        Values::toQString(file, fileName);
    }
    Py_XDECREF(file);
    Py_DECREF(code);
    PyErr_Clear();
}

// --- Event -----------------------------------------------------------------------------

struct EventObject {
    PyObject_HEAD
    PyObject *name;
    PyObject *payload;
    PyObject *sender;
};

int event_traverse(PyObject *self, visitproc visit, void *arg)
{
    auto *event = reinterpret_cast<EventObject *>(self);
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(event->name);
    Py_VISIT(event->payload);
    Py_VISIT(event->sender);
    return 0;
}

int event_clear(PyObject *self)
{
    auto *event = reinterpret_cast<EventObject *>(self);
    Py_CLEAR(event->name);
    Py_CLEAR(event->payload);
    Py_CLEAR(event->sender);
    return 0;
}

void event_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    event_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

PyObject *event_repr(PyObject *self)
{
    auto *event = reinterpret_cast<EventObject *>(self);
    return PyUnicode_FromFormat("Event(name=%R, sender=%R, payload=%R)", event->name, event->sender, event->payload);
}

PyMemberDef event_members[] = {
    {"name", Py_T_OBJECT_EX, offsetof(EventObject, name), Py_READONLY, PyDoc_STR("The event's name, as given to emit().")},
    {"payload", Py_T_OBJECT_EX, offsetof(EventObject, payload), Py_READONLY, PyDoc_STR("A copy of what the sender passed.")},
    {"sender", Py_T_OBJECT_EX, offsetof(EventObject, sender), Py_READONLY, PyDoc_STR("The id of the plugin that emitted it; \"\" for the host.")},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot event_slots[] = {
    {Py_tp_doc, const_cast<char *>("An event delivered to a handler subscribed with @pluginhost.on(name).")},
    {Py_tp_dealloc, reinterpret_cast<void *>(event_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void *>(event_traverse)},
    {Py_tp_clear, reinterpret_cast<void *>(event_clear)},
    {Py_tp_repr, reinterpret_cast<void *>(event_repr)},
    {Py_tp_members, event_members},
    {0, nullptr},
};

PyType_Spec event_spec = {
    "pluginhost.Event",
    sizeof(EventObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    event_slots,
};

// --- PluginInfo --------------------------------------------------------------------------

HostServices *infoServices(PyObject *self)
{
    return servicesOrRaise(stateOfType(Py_TYPE(self)));
}

PyObject *fromQString(const QString &text)
{
    return Values::fromQString(text);
}

PyObject *info_id(PyObject *self, void *)
{
    HostServices *services = infoServices(self);
    return services ? fromQString(services->pluginId()) : nullptr;
}

PyObject *info_version(PyObject *self, void *)
{
    HostServices *services = infoServices(self);
    return services ? fromQString(services->version()) : nullptr;
}

PyObject *info_directory(PyObject *self, void *)
{
    HostServices *services = infoServices(self);
    return services ? fromQString(services->directory()) : nullptr;
}

PyObject *info_data_dir(PyObject *self, void *)
{
    HostServices *services = infoServices(self);
    if (!services) {
        return nullptr;
    }
    const QString directory = services->dataDirectory();
    if (directory.isEmpty()) {
        // An empty path would have the plugin write into the process's working folder.
        return raise(PluginError(PluginError::Kind::InvalidMetaData,
                                 services->pluginId(),
                                 QStringLiteral("pluginhost.info.data_dir: the host refused a data folder for this plugin's id; see the host's log")));
    }
    return fromQString(directory);
}

PyObject *info_interpreter_id(PyObject *self, void *)
{
    HostServices *services = infoServices(self);
    return services ? PyLong_FromLongLong(services->interpreterId()) : nullptr;
}

PyObject *info_gil(PyObject *self, void *)
{
    HostServices *services = infoServices(self);
    return services ? PyUnicode_FromString(services->ownGil() ? "own" : "shared") : nullptr;
}

PyObject *info_previous_state(PyObject *self, void *)
{
    HostServices *services = infoServices(self);
    return services ? Values::toPython(services->previousState(), QStringLiteral("previous_state")) : nullptr;
}

PyObject *info_repr(PyObject *self)
{
    ModuleState *state = stateOfType(Py_TYPE(self));
    HostServices *services = state ? state->services : nullptr;
    if (!services) {
        return PyUnicode_FromString("PluginInfo(<unloading>)"); // repr() must not raise
    }
    return fromQString(QStringLiteral("PluginInfo(id='%1', version='%2')").arg(services->pluginId(), services->version()));
}

PyGetSetDef info_getset[] = {
    {"id", info_id, nullptr, PyDoc_STR("The plugin's id from metadata.json."), nullptr},
    {"version", info_version, nullptr, PyDoc_STR("The plugin's version from metadata.json."), nullptr},
    {"directory", info_directory, nullptr, PyDoc_STR("The plugin's folder."), nullptr},
    {"data_dir", info_data_dir, nullptr, PyDoc_STR("A folder the plugin may write to, created on first use."), nullptr},
    {"interpreter_id", info_interpreter_id, nullptr, PyDoc_STR("CPython's id of the plugin's interpreter."), nullptr},
    {"gil", info_gil, nullptr, PyDoc_STR("\"own\" (a per-interpreter GIL) or \"shared\"."), nullptr},
    {"previous_state", info_previous_state, nullptr, PyDoc_STR("What on_unload() of the previous instance returned, or None."), nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot info_slots[] = {
    {Py_tp_doc, const_cast<char *>("What the host knows about this plugin (pluginhost.info).")},
    {Py_tp_dealloc, reinterpret_cast<void *>(deallocPlain)},
    {Py_tp_traverse, reinterpret_cast<void *>(visitType)},
    {Py_tp_repr, reinterpret_cast<void *>(info_repr)},
    {Py_tp_getset, info_getset},
    {0, nullptr},
};

PyType_Spec info_spec = {
    "pluginhost.PluginInfo",
    sizeof(PyObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    info_slots,
};

// --- Logger ------------------------------------------------------------------------------

PyObject *logAt(PyTypeObject *definingClass, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, HostServices::LogLevel level, const char *name)
{
    if (nargs != 1 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_Format(PyExc_TypeError, "log.%s() takes exactly one argument, the message", name);
        return nullptr;
    }
    HostServices *services = servicesOrRaise(stateOf(PyType_GetModule(definingClass)));
    if (!services) {
        return nullptr;
    }
    PyObject *text = PyObject_Str(args[0]);
    QString message;
    const bool converted = text && Values::toQString(text, &message);
    Py_XDECREF(text);
    if (!converted) {
        return nullptr;
    }
    QString fileName;
    int line = 0;
    callerLocation(&fileName, &line);
    services->log(level, message, fileName, line);
    Py_RETURN_NONE;
}

#define PLUGINHOST_LOGGER_METHOD(method, level)                                                                                                      \
    PyObject *logger_##method(PyObject *, PyTypeObject *definingClass, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)                    \
    {                                                                                                                                                \
        return logAt(definingClass, args, nargs, kwnames, level, #method);                                                                           \
    }
PLUGINHOST_LOGGER_METHOD(debug, HostServices::LogLevel::Debug)
PLUGINHOST_LOGGER_METHOD(info, HostServices::LogLevel::Info)
PLUGINHOST_LOGGER_METHOD(warning, HostServices::LogLevel::Warning)
PLUGINHOST_LOGGER_METHOD(error, HostServices::LogLevel::Error)
PLUGINHOST_LOGGER_METHOD(critical, HostServices::LogLevel::Critical)
#undef PLUGINHOST_LOGGER_METHOD

constexpr int loggerFlags = METH_METHOD | METH_FASTCALL | METH_KEYWORDS;

PyMethodDef logger_methods[] = {
    {"debug", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(logger_debug)), loggerFlags, PyDoc_STR("debug($self, message, /)\n--\n\nLogs a debug message.")},
    {"info", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(logger_info)), loggerFlags, PyDoc_STR("info($self, message, /)\n--\n\nLogs an informational message.")},
    {"warning", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(logger_warning)), loggerFlags, PyDoc_STR("warning($self, message, /)\n--\n\nLogs a warning.")},
    {"error", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(logger_error)), loggerFlags, PyDoc_STR("error($self, message, /)\n--\n\nLogs an error.")},
    {"critical", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(logger_critical)), loggerFlags, PyDoc_STR("critical($self, message, /)\n--\n\nLogs a critical error.")},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot logger_slots[] = {
    {Py_tp_doc, const_cast<char *>("Writes to the plugin's Qt logging category, pluginhost.plugin.<id> (pluginhost.log).")},
    {Py_tp_dealloc, reinterpret_cast<void *>(deallocPlain)},
    {Py_tp_traverse, reinterpret_cast<void *>(visitType)},
    {Py_tp_methods, logger_methods},
    {0, nullptr},
};

PyType_Spec logger_spec = {
    "pluginhost.Logger",
    sizeof(PyObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    logger_slots,
};

// --- Stream ------------------------------------------------------------------------------

struct StreamObject {
    PyObject_HEAD
    HostServices::LogLevel level;
    QString *pending; // text after the last newline
};

void stream_dealloc(PyObject *self)
{
    auto *stream = reinterpret_cast<StreamObject *>(self);
    delete stream->pending;
    deallocPlain(self);
}

void logLine(StreamObject *stream, const QString &line)
{
    ModuleState *state = stateOfType(Py_TYPE(stream));
    HostServices *services = state ? state->services : nullptr;
    if (!services) {
        return; // unloading: nothing left to log to
    }
    QString fileName;
    int lineNumber = 0;
    callerLocation(&fileName, &lineNumber);
    services->log(stream->level, line, fileName, lineNumber);
}

PyObject *stream_write(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "write() argument must be str, not %s", Py_TYPE(text)->tp_name);
        return nullptr;
    }
    auto *stream = reinterpret_cast<StreamObject *>(self);
    QString added;
    if (!Values::toQString(text, &added)) {
        return nullptr;
    }
    stream->pending->append(added);
    qsizetype newline;
    while ((newline = stream->pending->indexOf(QLatin1Char('\n'))) >= 0) {
        const QString line = stream->pending->left(newline);
        stream->pending->remove(0, newline + 1);
        logLine(stream, line);
    }
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(text));
}

PyObject *stream_flush(PyObject *self, PyObject *)
{
    flushStream(self);
    Py_RETURN_NONE;
}

PyObject *stream_true(PyObject *, PyObject *)
{
    Py_RETURN_TRUE;
}

PyObject *stream_false(PyObject *, PyObject *)
{
    Py_RETURN_FALSE;
}

PyObject *stream_encoding(PyObject *, void *)
{
    return PyUnicode_FromString("utf-8");
}

PyObject *stream_errors(PyObject *, void *)
{
    return PyUnicode_FromString("strict");
}

PyObject *stream_closed(PyObject *, void *)
{
    Py_RETURN_FALSE;
}

PyMethodDef stream_methods[] = {
    {"write", stream_write, METH_O, PyDoc_STR("write($self, text, /)\n--\n\nLogs every complete line; keeps the rest for the next write.")},
    {"flush", stream_flush, METH_NOARGS, PyDoc_STR("flush($self, /)\n--\n\nLogs what is left after the last newline.")},
    {"isatty", stream_false, METH_NOARGS, PyDoc_STR("isatty($self, /)\n--\n\nFalse.")},
    {"writable", stream_true, METH_NOARGS, PyDoc_STR("writable($self, /)\n--\n\nTrue.")},
    {"readable", stream_false, METH_NOARGS, PyDoc_STR("readable($self, /)\n--\n\nFalse.")},
    {"seekable", stream_false, METH_NOARGS, PyDoc_STR("seekable($self, /)\n--\n\nFalse.")},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef stream_getset[] = {
    {"encoding", stream_encoding, nullptr, nullptr, nullptr},
    {"errors", stream_errors, nullptr, nullptr, nullptr},
    {"closed", stream_closed, nullptr, nullptr, nullptr},
    {"line_buffering", reinterpret_cast<getter>(stream_true), nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot stream_slots[] = {
    {Py_tp_doc, const_cast<char *>("sys.stdout and sys.stderr of a plugin: lines go to its log.")},
    {Py_tp_dealloc, reinterpret_cast<void *>(stream_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void *>(visitType)},
    {Py_tp_methods, stream_methods},
    {Py_tp_getset, stream_getset},
    {0, nullptr},
};

PyType_Spec stream_spec = {
    "pluginhost.LogStream",
    sizeof(StreamObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    stream_slots,
};

} // namespace

PyObject *createEventType(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &event_spec, nullptr);
}

PyObject *createInfoType(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &info_spec, nullptr);
}

PyObject *createLoggerType(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &logger_spec, nullptr);
}

PyObject *createStreamType(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &stream_spec, nullptr);
}

PyObject *newEvent(ModuleState *state, PyObject *name, PyObject *payload, PyObject *sender)
{
    auto *event = PyObject_GC_New(EventObject, reinterpret_cast<PyTypeObject *>(state->eventType));
    if (!event) {
        return nullptr;
    }
    event->name = Py_NewRef(name);
    event->payload = Py_NewRef(payload);
    event->sender = Py_NewRef(sender);
    PyObject_GC_Track(event);
    return reinterpret_cast<PyObject *>(event);
}

PyObject *newStream(ModuleState *state, HostServices::LogLevel level)
{
    auto *stream = PyObject_GC_New(StreamObject, reinterpret_cast<PyTypeObject *>(state->streamType));
    if (!stream) {
        return nullptr;
    }
    stream->level = level;
    stream->pending = new QString;
    PyObject_GC_Track(stream);
    return reinterpret_cast<PyObject *>(stream);
}

void flushStream(PyObject *object)
{
    auto *stream = reinterpret_cast<StreamObject *>(object);
    if (!stream->pending->isEmpty()) {
        const QString rest = *stream->pending;
        stream->pending->clear();
        logLine(stream, rest);
    }
}

} // namespace PluginHost::Module
