#pragma once

#include "pythonshim.h"

#include <utility>

namespace PluginHost
{

/*
 * Owns one strong reference to a Python object of the interpreter whose thread holds it.
 * Only ever lives on that thread, with its GIL held, and never outlives the interpreter.
 */
class PyRef
{
public:
    PyRef() = default;
    static PyRef steal(PyObject *object)
    {
        PyRef ref;
        ref.m_object = object;
        return ref;
    }
    static PyRef borrow(PyObject *object)
    {
        Py_XINCREF(object);
        return steal(object);
    }
    PyRef(const PyRef &other)
        : m_object(Py_XNewRef(other.m_object))
    {
    }
    PyRef(PyRef &&other) noexcept
        : m_object(std::exchange(other.m_object, nullptr))
    {
    }
    PyRef &operator=(PyRef other) noexcept
    {
        std::swap(m_object, other.m_object);
        return *this;
    }
    ~PyRef()
    {
        Py_XDECREF(m_object);
    }

    PyObject *get() const
    {
        return m_object;
    }
    PyObject *release()
    {
        return std::exchange(m_object, nullptr);
    }
    explicit operator bool() const
    {
        return m_object != nullptr;
    }

private:
    PyObject *m_object = nullptr;
};

} // namespace PluginHost
