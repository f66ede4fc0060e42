// The heap types of the `pluginhost` module: Event (what handlers receive), PluginInfo
// (pluginhost.info), Logger (pluginhost.log) and LogWriter, the binary stream under the text
// files that replace sys.stdout and sys.stderr. Each is made from the module with
// PyType_FromModuleAndSpec.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "bridge/values.h"
#include "module.h"
#include "modulestate_p.h"
#include "runtime/pyref.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <utility>

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
//
// A plugin's sys.stdout and sys.stderr are io.TextIOWrapper objects, as in the `python`
// program, over a LogWriter: a raw binary stream (an io.RawIOBase; it derives from _io._IOBase,
// which brings close(), closed, fileno() raising io.UnsupportedOperation, writelines() and the
// context manager) that sends every line it receives, decoded as UTF-8, to the plugin's log.
// Not from _io._RawIOBase: that type has no tp_dealloc of its own, and LogWriter's must call
// the one of its base directly.

// What LogWriter adds to the instances of _io._IOBase, whose layout is private (PEP 697).
struct LogWriterData {
    HostServices::LogLevel level;
    bool closed; // what `closed` says; _IOBase's close() keeps its own copy for its finalizer
    QByteArray *pending; // the bytes after the last newline
};

LogWriterData *writerData(PyObject *self)
{
    return static_cast<LogWriterData *>(PyObject_GetTypeData(self, Py_TYPE(self)));
}

// The module through the type's own reference rather than PyType_GetModuleByDef(): the
// finalizer can run during the interpreter's last collection, when the type's MRO is gone.
HostServices *writerServices(PyObject *self)
{
    PyObject *module = PyType_GetModule(Py_TYPE(self)); // borrowed
    if (!module) {
        PyErr_Clear();
        return nullptr;
    }
    return stateOf(module)->services;
}

// Logs one line; bytes that are not UTF-8 appear as \xNN escapes.
void logLine(PyObject *self, HostServices::LogLevel level, QByteArrayView line)
{
    HostServices *services = writerServices(self);
    if (!services) {
        return; // unloading: nothing left to log to
    }
    QString text;
    if (line.isValidUtf8()) {
        text = QString::fromUtf8(line);
    } else {
        PyObject *decoded = PyUnicode_DecodeUTF8(line.data(), line.size(), "backslashreplace");
        if (!decoded || !Values::toQString(decoded, &text)) {
            PyErr_Clear();
            text = QString::fromUtf8(line);
        }
        Py_XDECREF(decoded);
    }
    QString fileName;
    int lineNumber = 0;
    callerLocation(&fileName, &lineNumber);
    services->log(level, text, fileName, lineNumber);
}

void flushPending(PyObject *self)
{
    LogWriterData *data = writerData(self);
    if (data->pending && !data->pending->isEmpty()) {
        const QByteArray rest = std::exchange(*data->pending, QByteArray());
        logLine(self, data->level, rest);
    }
}

// False with ValueError set once the stream is closed.
bool checkOpen(PyObject *self)
{
    if (writerData(self)->closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file.");
        return false;
    }
    return true;
}

PyObject *writer_write(PyObject *self, PyObject *bytes)
{
    if (!checkOpen(self)) {
        return nullptr;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(bytes, &view, PyBUF_SIMPLE) < 0) {
        return nullptr;
    }
    LogWriterData *data = writerData(self);
    QByteArrayView added(static_cast<const char *>(view.buf), view.len);
    qsizetype newline;
    while ((newline = added.indexOf('\n')) >= 0) {
        if (data->pending->isEmpty()) {
            logLine(self, data->level, added.first(newline));
        } else {
            data->pending->append(added.first(newline));
            const QByteArray line = std::exchange(*data->pending, QByteArray());
            logLine(self, data->level, line);
        }
        added = added.sliced(newline + 1);
    }
    data->pending->append(added);
    const Py_ssize_t written = view.len;
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(written);
}

// The log takes whole lines: TextIOWrapper flushes after every write that holds a newline, and
// print("a\nb") writes "a\nb" and "\n" apart. What follows the last newline waits for the next
// one, or for the plugin to unload (flushStream()).
PyObject *writer_flush(PyObject *self, PyObject *)
{
    if (!checkOpen(self)) {
        return nullptr;
    }
    Py_RETURN_NONE;
}

PyObject *writer_writable(PyObject *self, PyObject *)
{
    if (!checkOpen(self)) {
        return nullptr;
    }
    Py_RETURN_TRUE;
}

// The flag is LogWriter's own: TextIOWrapper asks for `closed` at every write, and _IOBase keeps
// its copy in the instance's __dict__.
PyObject *writer_close(PyObject *self, PyObject *)
{
    // _IOBase's close() flushes first, and marks the stream closed even when that raised.
    PyObject *result = PyObject_CallMethod(reinterpret_cast<PyObject *>(Py_TYPE(self)->tp_base), "close", "O", self);
    writerData(self)->closed = true;
    return result;
}

PyObject *writer_closed(PyObject *self, void *)
{
    return PyBool_FromLong(writerData(self)->closed);
}

// read(), readall() and readinto() raise io.UnsupportedOperation, as for a file opened for writing.
PyObject *writer_unreadable(PyObject *self, PyObject *const *, Py_ssize_t)
{
    return PyObject_CallMethod(self, "_checkReadable", nullptr);
}

PyObject *writer_name(PyObject *self, void *)
{
    return PyUnicode_FromString(writerData(self)->level == HostServices::LogLevel::Info ? "<stdout>" : "<stderr>");
}

PyObject *writer_mode(PyObject *, void *)
{
    return PyUnicode_FromString("wb");
}

PyObject *writer_repr(PyObject *self)
{
    PyObject *name = writer_name(self, nullptr);
    PyObject *repr = name ? PyUnicode_FromFormat("<pluginhost.LogWriter name=%R>", name) : nullptr;
    Py_XDECREF(name);
    return repr;
}

// LogWriter adds no Python objects: _IOBase's traverse and clear cover the type and __dict__.
int writer_traverse(PyObject *self, visitproc visit, void *arg)
{
    return Py_TYPE(self)->tp_base->tp_traverse(self, visit, arg);
}

int writer_clear(PyObject *self)
{
    return Py_TYPE(self)->tp_base->tp_clear(self);
}

void writer_dealloc(PyObject *self)
{
    // _IOBase's finalizer calls close(), which may run Python code that writes: `pending`
    // must outlive it.
    if (PyObject_CallFinalizerFromDealloc(self) < 0) {
        return; // resurrected
    }
    LogWriterData *data = writerData(self);
    delete std::exchange(data->pending, nullptr);
    Py_TYPE(self)->tp_base->tp_dealloc(self);
}

PyMethodDef writer_methods[] = {
    {"write", writer_write, METH_O, PyDoc_STR("write($self, b, /)\n--\n\nLogs every complete line of the bytes; keeps the rest for the next write.")},
    {"flush", writer_flush, METH_NOARGS, PyDoc_STR("flush($self, /)\n--\n\nNothing to do: a line is logged when its newline comes.")},
    {"writable", writer_writable, METH_NOARGS, PyDoc_STR("writable($self, /)\n--\n\nTrue.")},
    {"close", writer_close, METH_NOARGS, PyDoc_STR("close($self, /)\n--\n\nCloses the stream: writing to it raises ValueError from now on.")},
    {"read",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(writer_unreadable)),
     METH_FASTCALL,
     PyDoc_STR("read($self, size=-1, /)\n--\n\nRaises io.UnsupportedOperation: the log cannot be read.")},
    {"readall",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(writer_unreadable)),
     METH_FASTCALL,
     PyDoc_STR("readall($self, /)\n--\n\nRaises io.UnsupportedOperation: the log cannot be read.")},
    {"readinto",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(writer_unreadable)),
     METH_FASTCALL,
     PyDoc_STR("readinto($self, buffer, /)\n--\n\nRaises io.UnsupportedOperation: the log cannot be read.")},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef writer_getset[] = {
    {"closed", writer_closed, nullptr, PyDoc_STR("Whether close() was called."), nullptr},
    {"name", writer_name, nullptr, PyDoc_STR("\"<stdout>\" or \"<stderr>\"."), nullptr},
    {"mode", writer_mode, nullptr, PyDoc_STR("\"wb\"."), nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot writer_slots[] = {
    {Py_tp_doc,
     const_cast<char *>("The binary stream under a plugin's sys.stdout and sys.stderr (their .buffer): each line, decoded as UTF-8, "
                        "goes to the plugin's log.")},
    {Py_tp_dealloc, reinterpret_cast<void *>(writer_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void *>(writer_traverse)},
    {Py_tp_clear, reinterpret_cast<void *>(writer_clear)},
    {Py_tp_repr, reinterpret_cast<void *>(writer_repr)},
    {Py_tp_methods, writer_methods},
    {Py_tp_getset, writer_getset},
    {0, nullptr},
};

PyType_Spec writer_spec = {
    "pluginhost.LogWriter",
    -int(sizeof(LogWriterData)),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    writer_slots,
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
    PyRef ioImplementation = PyRef::steal(PyImport_ImportModule("_io"));
    PyRef base = ioImplementation ? PyRef::steal(PyObject_GetAttrString(ioImplementation.get(), "_IOBase")) : PyRef();
    PyRef type = base ? PyRef::steal(PyType_FromModuleAndSpec(module, &writer_spec, base.get())) : PyRef();
    // isinstance(sys.stdout.buffer, io.RawIOBase), as for the `python` program's unbuffered streams.
    PyRef io = type ? PyRef::steal(PyImport_ImportModule("io")) : PyRef();
    PyRef rawIOBase = io ? PyRef::steal(PyObject_GetAttrString(io.get(), "RawIOBase")) : PyRef();
    PyRef registered = rawIOBase ? PyRef::steal(PyObject_CallMethod(rawIOBase.get(), "register", "O", type.get())) : PyRef();
    return registered ? type.release() : nullptr;
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
    auto *type = reinterpret_cast<PyTypeObject *>(state->streamType);
    PyRef writer = PyRef::steal(type->tp_alloc(type, 0));
    if (!writer) {
        return nullptr;
    }
    LogWriterData *data = writerData(writer.get());
    data->level = level;
    data->closed = false;
    data->pending = new QByteArray;

    // Like the `python` program's own: strict on stdout, backslashreplace on stderr so that
    // reporting an error never fails; line buffered and written through, so that every line
    // reaches the log as it is written.
    PyRef io = PyRef::steal(PyImport_ImportModule("io"));
    PyRef wrapperType = io ? PyRef::steal(PyObject_GetAttrString(io.get(), "TextIOWrapper")) : PyRef();
    PyRef arguments = PyRef::steal(PyTuple_Pack(1, writer.get()));
    PyRef keywords = PyRef::steal(Py_BuildValue("{s:s,s:s,s:s,s:O,s:O}",
                                                "encoding",
                                                "utf-8",
                                                "errors",
                                                level == HostServices::LogLevel::Info ? "strict" : "backslashreplace",
                                                "newline",
                                                "\n",
                                                "line_buffering",
                                                Py_True,
                                                "write_through",
                                                Py_True));
    if (!wrapperType || !arguments || !keywords) {
        return nullptr;
    }
    PyRef stream = PyRef::steal(PyObject_Call(wrapperType.get(), arguments.get(), keywords.get()));
    PyRef mode = PyRef::steal(PyUnicode_FromString("w"));
    if (!stream || !mode || PyObject_SetAttrString(stream.get(), "mode", mode.get()) < 0) {
        return nullptr;
    }
    return stream.release();
}

void flushStream(PyObject *stream)
{
    // Through TextIOWrapper's own flush(), not an attribute the plugin may have replaced: text
    // it still holds (a plugin may have turned write_through off) reaches the writer first.
    PyRef flush = PyRef::steal(PyObject_GetAttrString(reinterpret_cast<PyObject *>(Py_TYPE(stream)), "flush"));
    PyRef flushed = flush ? PyRef::steal(PyObject_CallOneArg(flush.get(), stream)) : PyRef();
    PyErr_Clear(); // a closed stream has nothing left to flush
    PyRef writer = PyRef::steal(PyObject_GetAttrString(stream, "buffer"));
    PyObject *module = writer ? PyType_GetModule(Py_TYPE(writer.get())) : nullptr; // borrowed
    if (module && PyModule_GetDef(module) == &moduleDefinition) {
        flushPending(writer.get()); // even when the plugin closed the stream
    }
    PyErr_Clear();
}

} // namespace PluginHost::Module
