// Values across interpreters (DESIGN.md): no PyObject* ever leaves its interpreter. Python
// values are copied into Qt values and back, on the interpreter's thread with its GIL held.
//
//   Python               Qt
//   None                 QVariant() / std::nullptr_t
//   bool                 bool
//   int (64-bit)         qlonglong     (larger ints raise OverflowError: pass them as str)
//   float                double
//   str                  QString
//   bytes, bytearray     QByteArray    (comes back as bytes)
//   pluginhost.Buffer    Buffer        (the same bytes, not copied, both ways: buffer.h)
//   list, tuple          QVariantList  (comes back as list)
//   dict with str keys   QVariantMap   (keys come back sorted)
//
// Anything else raises TypeError naming the type and where it sat: args[1]["cover"]. So do the
// errors CPython raises on the way: UnicodeEncodeError for a str holding lone surrogates, and
// MemoryError.
#pragma once

#include "buffer.h"
#include "pluginhostcore_export.h"
#include "runtime/pythonshim.h"

#include <QString>
#include <QVariant>

namespace PluginHost::Values
{

/// A new reference, or nullptr with TypeError/OverflowError (ValueError when nested more
/// than 200 levels deep) set naming `where` ("args[0]").
PLUGINHOSTCORE_EXPORT PyObject *toPython(const QVariant &value, const QString &where);

/// A new tuple of the values, or nullptr with an exception set naming "<where>[i]…".
PLUGINHOSTCORE_EXPORT PyObject *toPythonTuple(const QVariantList &values, const QString &where);

/// A new str from UTF-16 (surrogate pairs decoded; a lone surrogate becomes U+FFFD, as in
/// QString::toUtf8()), or nullptr with an exception set.
PLUGINHOSTCORE_EXPORT PyObject *fromQString(const QString &text);

/// The text of a str; false with UnicodeEncodeError set when it holds a lone surrogate.
PLUGINHOSTCORE_EXPORT bool toQString(PyObject *text, QString *out);

/// False with TypeError/OverflowError (ValueError for nesting deeper than 200 levels, as a
/// container that holds itself is) set naming the position below `where` ("result").
PLUGINHOSTCORE_EXPORT bool fromPython(PyObject *object, QVariant *value, const QString &where);

/*
 * How a Buffer crosses. pluginhost.Buffer is a type of the `pluginhost` module, which sits
 * above this layer: the module registers these when the SDK loads, and the converter asks
 * them only about values it has no other rule for, so other values never pay for them.
 */
struct BufferConversion {
    /// A new pluginhost.Buffer of the calling interpreter sharing buffer's bytes; nullptr with
    /// an exception set on failure, nullptr without one when the interpreter has no pluginhost.
    PyObject *(*toPython)(const Buffer &buffer) = nullptr;
    /// True, with *buffer sharing its bytes, when object is a pluginhost.Buffer; false (and no
    /// exception) for any other object.
    bool (*fromPython)(PyObject *object, Buffer *buffer) = nullptr;
};

/// Installs the module's conversion. Once, while the SDK loads; not thread-safe.
PLUGINHOSTCORE_EXPORT void setBufferConversion(const BufferConversion &conversion);

} // namespace PluginHost::Values
