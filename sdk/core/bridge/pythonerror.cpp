#include "pythonerror.h"
#include "runtime/pyref.h"

#include <QLocale>

#include <deque>

namespace PluginHost
{

using namespace PythonErrorLimits;

namespace
{
QString cutMarker(qint64 characters)
{
    // Digits grouped: the count is read by people and can run into the millions.
    return QStringLiteral("… [%1 characters cut] …").arg(QLocale(QLocale::English).toString(characters));
}

// The text of a str; what is not text (a lone surrogate) is escaped rather than lost, and a NUL
// stays in it.
QString fromPythonString(PyObject *string)
{
    PyRef utf8 = PyRef::steal(PyUnicode_AsEncodedString(string, "utf-8", "backslashreplace"));
    if (!utf8) {
        PyErr_Clear();
        return QString();
    }
    return QString::fromUtf8(PyBytes_AS_STRING(utf8.get()), PyBytes_GET_SIZE(utf8.get()));
}

// At most `limit` characters of a str: its beginning and its end around a cut marker. Only the
// kept parts are copied.
QString boundedString(PyObject *string, qsizetype limit)
{
    const Py_ssize_t length = PyUnicode_GetLength(string);
    if (length <= limit) {
        return fromPythonString(string);
    }
    const Py_ssize_t kept = limit / 2;
    PyRef head = PyRef::steal(PyUnicode_Substring(string, 0, kept));
    PyRef tail = PyRef::steal(PyUnicode_Substring(string, length - kept, length));
    if (!head || !tail) {
        PyErr_Clear();
        return cutMarker(length);
    }
    return fromPythonString(head.get()) + cutMarker(length - 2 * kept) + fromPythonString(tail.get());
}

QString shortTypeName(PyTypeObject *type)
{
    PyRef name = PyRef::steal(PyType_GetName(type));
    if (!name) {
        PyErr_Clear();
        return QStringLiteral("?");
    }
    return boundedString(name.get(), NameLimit);
}

QString text(PyObject *object, qsizetype limit)
{
    if (!object) {
        return QString();
    }
    PyRef string = PyRef::steal(PyObject_Str(object));
    if (!string) {
        PyErr_Clear();
        return QStringLiteral("<unprintable %1>").arg(shortTypeName(Py_TYPE(object)));
    }
    return boundedString(string.get(), limit);
}

QString typeName(PyObject *exception)
{
    PyTypeObject *type = Py_TYPE(exception);
    PyRef module = PyRef::steal(PyObject_GetAttrString(reinterpret_cast<PyObject *>(type), "__module__"));
    PyErr_Clear();
    const QString name = shortTypeName(type);
    const QString moduleName = text(module.get(), NameLimit);
    if (moduleName.isEmpty() || moduleName == QLatin1String("builtins")) {
        return name;
    }
    return moduleName + QLatin1Char('.') + name;
}

/*
 * A traceback, received a chunk at a time (a frame, a "During handling…" line, the exception's
 * own line), kept within TracebackLimit: each chunk bounded like a message, then whole chunks
 * from the beginning and from the end, the innermost frames being the ones that matter most.
 */
class BoundedTraceback
{
public:
    void append(PyObject *chunk)
    {
        const qint64 length = PyUnicode_GetLength(chunk);
        QString bounded = boundedString(chunk, MessageLimit);
        if (m_tail.empty() && m_head.size() + bounded.size() <= TracebackLimit / 2) {
            m_head += bounded;
            return;
        }
        m_tailSize += bounded.size();
        m_tail.push_back({std::move(bounded), length});
        while (m_tail.size() > 1 && m_tailSize > TracebackLimit / 2) {
            m_cut += m_tail.front().length;
            m_tailSize -= m_tail.front().text.size();
            m_tail.pop_front();
        }
    }

    void appendNote(const QString &note)
    {
        m_note = note;
    }

    QString text() const
    {
        QString result = m_head;
        if (m_cut > 0) {
            result += cutMarker(m_cut) + QLatin1Char('\n');
        }
        for (const Chunk &chunk : m_tail) {
            result += chunk.text;
        }
        return result + m_note;
    }

private:
    struct Chunk {
        QString text;
        qint64 length; // in characters, before bounding
    };
    QString m_head;
    std::deque<Chunk> m_tail;
    qsizetype m_tailSize = 0;
    qint64 m_cut = 0;
    QString m_note;
};

QString formatTraceback(PyObject *exception)
{
    // TracebackException.format() yields one chunk at a time, where format_exception() would
    // hold them all, each copy of a huge message included.
    PyRef tracebackModule = PyRef::steal(PyImport_ImportModule("traceback"));
    PyRef tracebackException = tracebackModule ? PyRef::steal(PyObject_GetAttrString(tracebackModule.get(), "TracebackException")) : PyRef();
    PyRef fromException = tracebackException ? PyRef::steal(PyObject_GetAttrString(tracebackException.get(), "from_exception")) : PyRef();
    PyRef arguments = PyRef::steal(Py_BuildValue("(O)", exception));
    PyRef options = PyRef::steal(Py_BuildValue("{s:O}", "compact", Py_True));
    PyRef described = fromException && arguments && options ? PyRef::steal(PyObject_Call(fromException.get(), arguments.get(), options.get())) : PyRef();
    PyRef chunks = described ? PyRef::steal(PyObject_CallMethod(described.get(), "format", nullptr)) : PyRef();
    PyRef iterator = chunks ? PyRef::steal(PyObject_GetIter(chunks.get())) : PyRef();
    if (!iterator) {
        PyErr_Clear();
        return QString();
    }
    BoundedTraceback traceback;
    while (PyRef chunk = PyRef::steal(PyIter_Next(iterator.get()))) {
        if (PyUnicode_Check(chunk.get())) {
            traceback.append(chunk.get());
        }
    }
    if (PyObject *interruption = PyErr_GetRaisedException()) {
        traceback.appendNote(QStringLiteral("(the rest of the traceback could not be formatted: %1)").arg(typeName(interruption)));
        Py_DECREF(interruption);
    }
    return traceback.text();
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
            fileName = text(file.get(), NameLimit);
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
            fileName = text(file.get(), NameLimit);
            if (lineNumber && PyLong_Check(lineNumber.get())) {
                line = int(PyLong_AsLong(lineNumber.get()));
            }
        }
        Py_XDECREF(traceback);
    }

    PyRef arguments = PyRef::steal(PyObject_GetAttrString(exception.get(), "args"));
    PyErr_Clear();
    QString message = text(exception.get(), MessageLimit);
    if (message.isEmpty() && arguments && PyTuple_Check(arguments.get()) && PyTuple_GET_SIZE(arguments.get()) == 0) {
        message = QStringLiteral("(no message)");
    }

    PluginError error(kind, pluginId, message);
    error.setPythonDetails(typeName(exception.get()), formatTraceback(exception.get()), fileName, line);
    PyErr_Clear();
    return error;
}

} // namespace PluginHost
