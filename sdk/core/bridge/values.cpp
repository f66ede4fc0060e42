#include "values.h"

#include <QStringList>
#include <QSysInfo>

namespace PluginHost::Values
{

namespace
{
// Where a value sits, built only when an error needs to say it: `args[1]["cover"]`.
struct Position {
    const Position *parent = nullptr;
    const QString *root = nullptr;
    Py_ssize_t index = -1;
    const QString *key = nullptr;

    QString text() const
    {
        if (root) {
            return *root;
        }
        QString path = parent->text();
        if (key) {
            QString quoted = *key;
            quoted.replace(QLatin1Char('\\'), QLatin1String("\\\\")).replace(QLatin1Char('"'), QLatin1String("\\\""));
            return path + QLatin1String("[\"") + quoted + QLatin1String("\"]");
        }
        return path + QLatin1Char('[') + QString::number(index) + QLatin1Char(']');
    }
};

constexpr int maximumDepth = 200;

// Set once while the SDK loads (module/buffertype.cpp), before any interpreter runs.
BufferConversion s_bufferConversion;

PyObject *raise(PyObject *type, const Position &position, const QString &what)
{
    PyErr_SetString(type, (position.text() + QLatin1String(": ") + what).toUtf8().constData());
    return nullptr;
}

/*
 * A step of the conversion failed with an exception of CPython's own that does not say where:
 * a MemoryError, or the UnicodeEncodeError of a str holding lone surrogates. Makes it say where
 * (`what` describes the value: "a str of 12 characters"). In a dict key when `inKey`.
 */
template<typename Describe>
void explainFailure(const Position &position, Describe what, bool inKey = false)
{
    const QString where = inKey ? QStringLiteral("a key of %1").arg(position.text()) : position.text();
    if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_MemoryError,
                        QStringLiteral("%1: out of memory while converting %2; pass less at a time").arg(where, QString(what())).toUtf8().constData());
    } else if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        // Keeps the type, the character and its index; only the reason gains the position.
        PyObject *exception = PyErr_GetRaisedException();
        PyObject *reason = PyUnicodeEncodeError_GetReason(exception);
        const char *reasonText = reason ? PyUnicode_AsUTF8(reason) : nullptr;
        const QString advice = QStringLiteral(
            "only valid Unicode crosses to the host; pass bytes instead (os.fsencode() for a file name), "
            "or replace them (text.encode(\"utf-8\", \"replace\").decode())");
        const QString explained = QStringLiteral("%1 in %2: %3").arg(QString::fromUtf8(reasonText ? reasonText : "not encodable"), where, advice);
        Py_XDECREF(reason);
        PyErr_Clear();
        PyUnicodeEncodeError_SetReason(exception, explained.toUtf8().constData());
        PyErr_SetRaisedException(exception);
    }
}

PyObject *convertToPython(const QVariant &value, const Position &position, int depth);

PyObject *listToPython(const QVariantList &values, const Position &position, int depth, bool tuple)
{
    PyObject *sequence = tuple ? PyTuple_New(values.size()) : PyList_New(values.size());
    if (!sequence) {
        explainFailure(position, [&] {
            return QStringLiteral("a list of %1 items").arg(values.size());
        });
        return nullptr;
    }
    for (qsizetype i = 0; i < values.size(); ++i) {
        const Position item{&position, nullptr, i, nullptr};
        PyObject *converted = convertToPython(values.at(i), item, depth + 1);
        if (!converted) {
            Py_DECREF(sequence);
            return nullptr;
        }
        if (tuple) {
            PyTuple_SET_ITEM(sequence, i, converted);
        } else {
            PyList_SET_ITEM(sequence, i, converted);
        }
    }
    return sequence;
}

template<typename Map>
PyObject *mapToPython(const Map &map, const Position &position, int depth)
{
    const auto describe = [&] {
        return QStringLiteral("a map of %1 items").arg(map.size());
    };
    PyObject *dict = PyDict_New();
    if (!dict) {
        explainFailure(position, describe);
        return nullptr;
    }
    for (auto it = map.cbegin(); it != map.cend(); ++it) {
        const Position item{&position, nullptr, -1, &it.key()};
        PyObject *key = fromQString(it.key());
        if (!key) {
            explainFailure(
                position,
                [&] {
                    return QStringLiteral("a string of %1 characters").arg(it.key().size());
                },
                true);
        }
        PyObject *converted = key ? convertToPython(it.value(), item, depth + 1) : nullptr;
        const bool stored = converted && PyDict_SetItem(dict, key, converted) == 0;
        if (converted && !stored) {
            explainFailure(position, describe);
        }
        if (!stored) {
            Py_XDECREF(key);
            Py_XDECREF(converted);
            Py_DECREF(dict);
            return nullptr;
        }
        Py_DECREF(key);
        Py_DECREF(converted);
    }
    return dict;
}

// Converts the values that hold no others; nullptr with an exception set for the rest too.
PyObject *scalarToPython(const QVariant &value, const Position &position)
{
    switch (value.typeId()) {
    case QMetaType::UnknownType:
    case QMetaType::Nullptr:
        Py_RETURN_NONE;
    case QMetaType::Bool:
        return PyBool_FromLong(value.toBool());
    case QMetaType::Int:
    case QMetaType::Long:
    case QMetaType::LongLong:
    case QMetaType::Short:
    case QMetaType::Char:
    case QMetaType::SChar:
        return PyLong_FromLongLong(value.toLongLong());
    case QMetaType::UInt:
    case QMetaType::ULong:
    case QMetaType::UShort:
    case QMetaType::UChar:
    case QMetaType::ULongLong:
        return PyLong_FromUnsignedLongLong(value.toULongLong());
    case QMetaType::Double:
    case QMetaType::Float:
        return PyFloat_FromDouble(value.toDouble());
    case QMetaType::QString:
        return fromQString(value.toString());
    case QMetaType::QByteArray: {
        const QByteArray bytes = value.toByteArray();
        return PyBytes_FromStringAndSize(bytes.constData(), bytes.size());
    }
    default:
        if (value.metaType() == QMetaType::fromType<Buffer>()) {
            PyObject *buffer = s_bufferConversion.toPython ? s_bufferConversion.toPython(*static_cast<const Buffer *>(value.constData())) : nullptr;
            if (!buffer && !PyErr_Occurred()) {
                return raise(PyExc_TypeError, position, QStringLiteral("a PluginHost::Buffer can only be passed to a plugin (it becomes a pluginhost.Buffer)"));
            }
            return buffer;
        }
        return raise(PyExc_TypeError,
                     position,
                     QStringLiteral("a %1 cannot be passed to Python; use None, bool, int, float, str, bytes, PluginHost::Buffer, lists or maps of them")
                         .arg(QString::fromLatin1(value.metaType().name())));
    }
}

// "a string of 5 characters", for a value that could not be converted for lack of memory.
QString describeScalar(const QVariant &value)
{
    switch (value.typeId()) {
    case QMetaType::QString:
        return QStringLiteral("a string of %1 characters").arg(value.toString().size());
    case QMetaType::QByteArray:
        return QStringLiteral("%1 bytes").arg(value.toByteArray().size());
    default:
        return QStringLiteral("a %1").arg(QString::fromLatin1(value.metaType().name()));
    }
}

PyObject *convertToPython(const QVariant &value, const Position &position, int depth)
{
    if (depth > maximumDepth) {
        return raise(PyExc_ValueError, position, QStringLiteral("nested more than %1 levels deep").arg(maximumDepth));
    }
    switch (value.typeId()) {
    case QMetaType::QStringList: {
        const QStringList strings = value.toStringList();
        return listToPython(QVariantList(strings.cbegin(), strings.cend()), position, depth, false);
    }
    case QMetaType::QVariantList:
        return listToPython(value.toList(), position, depth, false);
    case QMetaType::QVariantMap:
        return mapToPython(value.toMap(), position, depth);
    case QMetaType::QVariantHash:
        return mapToPython(value.toHash(), position, depth);
    default:
        break;
    }
    PyObject *converted = scalarToPython(value, position);
    if (!converted) {
        explainFailure(position, [&] {
            return describeScalar(value);
        });
    }
    return converted;
}

bool convertFromPython(PyObject *object, QVariant *value, const Position &position, int depth)
{
    if (depth > maximumDepth) {
        raise(PyExc_ValueError, position, QStringLiteral("nested more than %1 levels deep (or it contains itself)").arg(maximumDepth));
        return false;
    }
    if (object == Py_None) {
        *value = QVariant();
        return true;
    }
    if (PyBool_Check(object)) {
        *value = QVariant(object == Py_True);
        return true;
    }
    if (PyLong_Check(object)) {
        int overflow = 0;
        const long long number = PyLong_AsLongLongAndOverflow(object, &overflow);
        if (overflow != 0) {
            raise(PyExc_OverflowError, position, QStringLiteral("the int does not fit in 64 bits; pass it as a str"));
            return false;
        }
        if (number == -1 && PyErr_Occurred()) {
            return false;
        }
        *value = QVariant(qlonglong(number));
        return true;
    }
    if (PyFloat_Check(object)) {
        *value = QVariant(PyFloat_AS_DOUBLE(object));
        return true;
    }
    if (PyUnicode_Check(object)) {
        QString text;
        if (!toQString(object, &text)) {
            explainFailure(position, [object] {
                return QStringLiteral("a str of %1 characters").arg(PyUnicode_GET_LENGTH(object));
            });
            return false;
        }
        *value = QVariant(text);
        return true;
    }
    if (PyBytes_Check(object)) {
        *value = QVariant(QByteArray(PyBytes_AS_STRING(object), PyBytes_GET_SIZE(object)));
        return true;
    }
    if (PyByteArray_Check(object)) {
        *value = QVariant(QByteArray(PyByteArray_AS_STRING(object), PyByteArray_GET_SIZE(object)));
        return true;
    }
    if (PyList_Check(object) || PyTuple_Check(object)) {
        PyObject *fast = PySequence_Fast(object, "");
        if (!fast) {
            return false;
        }
        const Py_ssize_t size = PySequence_Fast_GET_SIZE(fast);
        QVariantList list;
        list.reserve(size);
        for (Py_ssize_t i = 0; i < size; ++i) {
            const Position item{&position, nullptr, i, nullptr};
            QVariant converted;
            if (!convertFromPython(PySequence_Fast_GET_ITEM(fast, i), &converted, item, depth + 1)) {
                Py_DECREF(fast);
                return false;
            }
            list.append(converted);
        }
        Py_DECREF(fast);
        *value = list;
        return true;
    }
    if (PyDict_Check(object)) {
        QVariantMap map;
        Py_ssize_t cursor = 0;
        PyObject *key = nullptr;
        PyObject *item = nullptr;
        while (PyDict_Next(object, &cursor, &key, &item)) {
            if (!PyUnicode_Check(key)) {
                raise(PyExc_TypeError,
                      position,
                      QStringLiteral("dict keys must be str, found a key of type %1").arg(QString::fromUtf8(Py_TYPE(key)->tp_name)));
                return false;
            }
            QString keyText;
            if (!toQString(key, &keyText)) {
                explainFailure(
                    position,
                    [key] {
                        return QStringLiteral("a str of %1 characters").arg(PyUnicode_GET_LENGTH(key));
                    },
                    true);
                return false;
            }
            const Position entry{&position, nullptr, -1, &keyText};
            QVariant converted;
            if (!convertFromPython(item, &converted, entry, depth + 1)) {
                return false;
            }
            map.insert(keyText, converted);
        }
        *value = map;
        return true;
    }
    Buffer buffer;
    if (s_bufferConversion.fromPython && s_bufferConversion.fromPython(object, &buffer)) {
        *value = QVariant::fromValue(std::move(buffer));
        return true;
    }
    raise(PyExc_TypeError,
          position,
          QStringLiteral("a %1 cannot cross to the host; use None, bool, int, float, str, bytes, pluginhost.Buffer, list, tuple or dict with str keys")
              .arg(QString::fromUtf8(Py_TYPE(object)->tp_name)));
    return false;
}
} // namespace

PyObject *fromQString(const QString &text)
{
    int byteOrder = QSysInfo::ByteOrder == QSysInfo::LittleEndian ? -1 : 1;
    return PyUnicode_DecodeUTF16(reinterpret_cast<const char *>(text.utf16()), text.size() * 2, "replace", &byteOrder);
}

bool toQString(PyObject *text, QString *out)
{
    Py_ssize_t size = 0;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (!utf8) {
        return false;
    }
    *out = QString::fromUtf8(utf8, size);
    return true;
}

PyObject *toPython(const QVariant &value, const QString &where)
{
    const Position root{nullptr, &where, -1, nullptr};
    return convertToPython(value, root, 0);
}

PyObject *toPythonTuple(const QVariantList &values, const QString &where)
{
    const Position root{nullptr, &where, -1, nullptr};
    return listToPython(values, root, 0, true);
}

bool fromPython(PyObject *object, QVariant *value, const QString &where)
{
    const Position root{nullptr, &where, -1, nullptr};
    return convertFromPython(object, value, root, 0);
}

void setBufferConversion(const BufferConversion &conversion)
{
    s_bufferConversion = conversion;
}

} // namespace PluginHost::Values
