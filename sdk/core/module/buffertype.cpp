// pluginhost.Buffer: read-only bytes shared with the host, and with other plugins, without copying.
//
//     frame = pluginhost.Buffer(data)    # from any bytes-like object: one copy, here
//     view = memoryview(frame)           # no copy; read-only (view.readonly is True)
//     len(frame), frame == b"...", bytes(frame) (a copy), frame.address (for diagnostics)
//
// An object holds a PluginHost::Buffer, that is an implicitly shared QByteArray, and lends its
// bytes through the buffer protocol, read-only. Values (bridge/values.cpp) hands a Buffer that
// comes from the host to Python as one of these, and one of these back to the host as its
// Buffer, through the conversion registered at the end of this file.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "bridge/buffer.h"
#include "bridge/values.h"
#include "modulestate_p.h"

#include <cstring>
#include <new>

namespace PluginHost::Module
{

namespace
{

struct BufferObject {
    PyObject_HEAD
    Buffer buffer; // constructed in place by wrap(), destroyed by buffer_dealloc()
};

// A new pluginhost.Buffer of `type` sharing buffer's bytes.
PyObject *wrap(PyTypeObject *type, const Buffer &buffer)
{
    auto *object = PyObject_GC_New(BufferObject, type);
    if (!object) {
        return nullptr;
    }
    new (&object->buffer) Buffer(buffer);
    PyObject_GC_Track(object);
    return reinterpret_cast<PyObject *>(object);
}

const QByteArray &bytesOf(PyObject *self)
{
    return reinterpret_cast<BufferObject *>(self)->buffer.data();
}

PyObject *buffer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 1 || (kwargs && PyDict_GET_SIZE(kwargs) > 0)) {
        PyErr_SetString(PyExc_TypeError, "Buffer() takes one argument, a bytes-like object (bytes, bytearray, memoryview, ...), positionally");
        return nullptr;
    }
    PyObject *data = PyTuple_GET_ITEM(args, 0);
    if (Py_IS_TYPE(data, type)) {
        return Py_NewRef(data); // immutable, like bytes(b) for a bytes b
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return nullptr; // TypeError: a bytes-like object is required, not 'str'
    }
    QByteArray bytes;
    try {
        bytes = QByteArray(static_cast<const char *>(view.buf), view.len);
    } catch (const std::bad_alloc &) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    PyBuffer_Release(&view);
    return wrap(type, Buffer(bytes));
}

void buffer_dealloc(PyObject *self)
{
    reinterpret_cast<BufferObject *>(self)->buffer.~Buffer();
    deallocPlain(self);
}

// Lends the bytes, read-only. A view keeps this object (view->obj), and so the QByteArray,
// alive; the bytes never move or change, so releasing a view has nothing to undo and the type
// needs no bf_releasebuffer (neither does bytes).
int buffer_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    if ((flags & PyBUF_WRITABLE) == PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError,
                        "pluginhost.Buffer is read-only: its bytes may be shared with the host and other plugins; "
                        "to change them, change a copy: bytearray(buffer)");
        view->obj = nullptr;
        return -1;
    }
    const QByteArray &bytes = bytesOf(self);
    // PyBuffer_FillInfo() never writes through the pointer; readonly=1 tells every consumer.
    return PyBuffer_FillInfo(view, self, const_cast<char *>(bytes.constData()), bytes.size(), 1, flags);
}

Py_ssize_t buffer_length(PyObject *self)
{
    return bytesOf(self).size();
}

// == and != against another Buffer or any bytes-like object: the same bytes.
PyObject *buffer_richcompare(PyObject *self, PyObject *other, int operation)
{
    if (operation != Py_EQ && operation != Py_NE) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    bool equal = false;
    if (Py_IS_TYPE(other, Py_TYPE(self))) {
        equal = reinterpret_cast<BufferObject *>(self)->buffer == reinterpret_cast<BufferObject *>(other)->buffer;
    } else if (PyObject_CheckBuffer(other)) {
        Py_buffer view;
        if (PyObject_GetBuffer(other, &view, PyBUF_SIMPLE) < 0) {
            PyErr_Clear(); // not contiguous: not comparable as bytes
            Py_RETURN_NOTIMPLEMENTED;
        }
        const QByteArray &bytes = bytesOf(self);
        equal = view.len == bytes.size() && std::memcmp(view.buf, bytes.constData(), size_t(view.len)) == 0;
        PyBuffer_Release(&view);
    } else {
        Py_RETURN_NOTIMPLEMENTED;
    }
    return PyBool_FromLong(equal == (operation == Py_EQ));
}

PyObject *buffer_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<pluginhost.Buffer of %zd bytes>", Py_ssize_t(bytesOf(self).size()));
}

PyObject *buffer_address(PyObject *self, void *)
{
    return PyLong_FromVoidPtr(const_cast<char *>(bytesOf(self).constData()));
}

PyGetSetDef buffer_getset[] = {
    {"address",
     buffer_address,
     nullptr,
     PyDoc_STR("The address of the first byte, for diagnostics: the host and every plugin holding these bytes see the same one."),
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot buffer_slots[] = {
    {Py_tp_doc,
     const_cast<char *>("Buffer(data, /)\n--\n\n"
                        "Read-only bytes that cross to the host and to other plugins without being copied.\n\n"
                        "Buffer(data) copies a bytes-like object once; a Buffer from the host, or one passed on, "
                        "is never copied. Read it through memoryview(buffer) or anything that takes a bytes-like "
                        "object; bytes(buffer) makes a copy.")},
    {Py_tp_new, reinterpret_cast<void *>(buffer_new)},
    {Py_tp_dealloc, reinterpret_cast<void *>(buffer_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void *>(visitType)},
    {Py_tp_repr, reinterpret_cast<void *>(buffer_repr)},
    {Py_tp_richcompare, reinterpret_cast<void *>(buffer_richcompare)},
    {Py_tp_getset, buffer_getset},
    {Py_sq_length, reinterpret_cast<void *>(buffer_length)},
    {Py_bf_getbuffer, reinterpret_cast<void *>(buffer_getbuffer)},
    {0, nullptr},
};

// Not a base type (so every instance has exactly this layout) and without __dict__.
PyType_Spec buffer_spec = {
    "pluginhost.Buffer",
    sizeof(BufferObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    buffer_slots,
};

// --- the conversion Values uses (values.h) ---------------------------------------------

PyObject *bufferToPython(const Buffer &buffer)
{
    ModuleState *state = currentState();
    // No type once the module was cleared at interpreter teardown: Values then says why.
    return state && state->bufferType ? wrap(reinterpret_cast<PyTypeObject *>(state->bufferType), buffer) : nullptr;
}

bool bufferFromPython(PyObject *object, Buffer *buffer)
{
    // Only pluginhost.Buffer (one type per interpreter, none derived) lends its bytes through
    // this function: recognising it by its slot needs no lookup of the module.
    const PyBufferProcs *procs = Py_TYPE(object)->tp_as_buffer;
    if (!procs || procs->bf_getbuffer != buffer_getbuffer) {
        return false;
    }
    *buffer = reinterpret_cast<BufferObject *>(object)->buffer;
    return true;
}

[[maybe_unused]] const bool s_conversionRegistered = (Values::setBufferConversion({bufferToPython, bufferFromPython}), true);

} // namespace

PyObject *createBufferType(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &buffer_spec, nullptr);
}

} // namespace PluginHost::Module
