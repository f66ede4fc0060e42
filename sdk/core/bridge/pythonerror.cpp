#include "pythonerror.h"
#include "runtime/pyref.h"

namespace PluginHost
{

namespace
{
QString text(PyObject *object)
{
    if (!object) {
        return QString();
    }
    PyRef string = PyRef::steal(PyObject_Str(object));
    const char *utf8 = string ? PyUnicode_AsUTF8(string.get()) : nullptr;
    if (!utf8) {
        PyErr_Clear();
        return QStringLiteral("<unprintable %1>").arg(QString::fromUtf8(Py_TYPE(object)->tp_name));
    }
    return QString::fromUtf8(utf8);
}

QString typeName(PyObject *exception)
{
    PyTypeObject *type = Py_TYPE(exception);
    PyRef module = PyRef::steal(PyObject_GetAttrString(reinterpret_cast<PyObject *>(type), "__module__"));
    PyErr_Clear();
    const QString name = QString::fromUtf8(_PyType_Name(type));
    const QString moduleName = text(module.get());
    if (moduleName.isEmpty() || moduleName == QLatin1String("builtins")) {
        return name;
    }
    return moduleName + QLatin1Char('.') + name;
}

QString formatTraceback(PyObject *exception)
{
    PyRef tracebackModule = PyRef::steal(PyImport_ImportModule("traceback"));
    PyRef lines = tracebackModule ? PyRef::steal(PyObject_CallMethod(tracebackModule.get(), "format_exception", "O", exception)) : PyRef();
    if (!lines) {
        PyErr_Clear();
        return QString();
    }
    PyRef empty = PyRef::steal(PyUnicode_FromString(""));
    PyRef joined = PyRef::steal(PyUnicode_Join(empty.get(), lines.get()));
    return joined ? text(joined.get()) : QString();
}
} // namespace

PluginError takePythonError(PluginError::Kind kind, const QString &pluginId)
{
    PyRef exception = PyRef::steal(PyErr_GetRaisedException());
    if (!exception) {
        return PluginError(kind, pluginId, QStringLiteral("unknown error (no Python exception was set)"));
    }

    QString fileName;
    int line = 0;
    if (PyErr_GivenExceptionMatches(exception.get(), PyExc_SyntaxError)) {
        PyRef file = PyRef::steal(PyObject_GetAttrString(exception.get(), "filename"));
        PyRef lineNumber = PyRef::steal(PyObject_GetAttrString(exception.get(), "lineno"));
        PyErr_Clear();
        if (file && file.get() != Py_None) {
            fileName = text(file.get());
        }
        if (lineNumber && PyLong_Check(lineNumber.get())) {
            line = int(PyLong_AsLong(lineNumber.get()));
        }
    }
    if (fileName.isEmpty()) {
        PyObject *traceback = PyException_GetTraceback(exception.get()); // new reference
        PyObject *innermost = traceback;
        while (innermost) {
            PyRef next = PyRef::steal(PyObject_GetAttrString(innermost, "tb_next"));
            if (!next || next.get() == Py_None) {
                break;
            }
            innermost = next.get(); // kept alive by the chain that `traceback` owns
        }
        PyErr_Clear();
        if (innermost) {
            PyRef lineNumber = PyRef::steal(PyObject_GetAttrString(innermost, "tb_lineno"));
            PyRef frame = PyRef::steal(PyObject_GetAttrString(innermost, "tb_frame"));
            PyRef code = frame ? PyRef::steal(PyObject_GetAttrString(frame.get(), "f_code")) : PyRef();
            PyRef file = code ? PyRef::steal(PyObject_GetAttrString(code.get(), "co_filename")) : PyRef();
            PyErr_Clear();
            fileName = text(file.get());
            if (lineNumber && PyLong_Check(lineNumber.get())) {
                line = int(PyLong_AsLong(lineNumber.get()));
            }
        }
        Py_XDECREF(traceback);
    }

    PyRef arguments = PyRef::steal(PyObject_GetAttrString(exception.get(), "args"));
    PyErr_Clear();
    QString message = text(exception.get());
    if (message.isEmpty() && arguments && PyTuple_Check(arguments.get()) && PyTuple_GET_SIZE(arguments.get()) == 0) {
        message = QStringLiteral("(no message)");
    }

    PluginError error(kind, pluginId, message);
    error.setPythonDetails(typeName(exception.get()), formatTraceback(exception.get()), fileName, line);
    PyErr_Clear();
    return error;
}

} // namespace PluginHost
