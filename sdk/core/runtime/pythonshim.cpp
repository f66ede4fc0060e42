#include "pythonshim.h"

// _PyEval_AddPendingCall is exported (for _testinternalcapi) but only declared in the
// internal headers, which need Py_BUILD_CORE. Its signature per version:
//   3.12: int _PyEval_AddPendingCall(PyInterpreterState *, int (*)(void *), void *, int mainthreadonly)
//   3.13+: _Py_add_pending_call_result _PyEval_AddPendingCall(PyInterpreterState *,
//          _Py_pending_call_func, void *, int flags), where the result is an int (0 or -1)
//          and flags 0 means "any thread of that interpreter".
extern "C" {
PyAPI_FUNC(int) _PyEval_AddPendingCall(PyInterpreterState *interpreter, int (*function)(void *), void *argument, int flags);
}

namespace PluginHost::Shim
{

bool addPendingCall(PyInterpreterState *interpreter, PendingCallFunction function, void *argument)
{
    return _PyEval_AddPendingCall(interpreter, function, argument, 0) == 0;
}

int currentInterpreterHasOwnGil()
{
#if PY_VERSION_HEX >= 0x030D0000
    // _interpreters.get_config() reads the configuration back from the live interpreter.
    int result = -1;
    PyObject *module = PyImport_ImportModule("_interpreters");
    PyObject *current = module ? PyObject_CallMethod(module, "get_current", nullptr) : nullptr;
    PyObject *id = current && PyTuple_Check(current) && PyTuple_GET_SIZE(current) > 0 ? PyTuple_GET_ITEM(current, 0) : nullptr;
    PyObject *config = id ? PyObject_CallMethod(module, "get_config", "O", id) : nullptr;
    PyObject *gil = config ? PyObject_GetAttrString(config, "gil") : nullptr;
    if (gil && PyUnicode_Check(gil)) {
        result = PyUnicode_CompareWithASCIIString(gil, "own") == 0 ? 1 : 0;
    }
    Py_XDECREF(gil);
    Py_XDECREF(config);
    Py_XDECREF(current);
    Py_XDECREF(module);
    PyErr_Clear();
    return result;
#else
    return -1;
#endif
}

} // namespace PluginHost::Shim
