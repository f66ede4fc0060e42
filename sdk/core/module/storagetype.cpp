// pluginhost.storage: the plugin's own persistent mapping, kept by the host in the profile's
// database, and the context manager storage.transaction() returns.
//
//     pluginhost.storage["greeted"] = 3          # any value that may cross interpreters
//     pluginhost.storage.get("greeted", 0)
//     with pluginhost.storage.transaction():     # commits as one, or rolls back on an exception
//         ...
//
// The namespace is the plugin's id, chosen by the host: nothing here takes a plugin id. A
// transaction belongs to the thread that entered it; the host keeps its writes until it commits,
// so one left open makes no one else wait, and is rolled back (and reported with where it was
// entered) when its object goes or the plugin unloads.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "bridge/values.h"
#include "modulestate_p.h"
#include "runtime/pyref.h"
#include "runtime/supervisor.h"

namespace PluginHost::Module
{

namespace
{

struct TransactionObject {
    PyObject_HEAD
    enum class Stage { Ready, Open, Done } stage;
    quint64 id; // the host's name for it, while Open
    unsigned long thread; // PyThread_get_thread_ident() of the thread that entered it
};

// Raises what a storage request of the host failed with: ValueError for a value too large,
// pluginhost.PluginError otherwise. Returns nullptr.
PyObject *raiseStorageError(ModuleState *state, const PluginError &error)
{
    PyErr_SetString(error.kind() == PluginError::Kind::InvalidValue ? PyExc_ValueError : state->pluginError, error.message().toUtf8().constData());
    return nullptr;
}

// The key as text, or false with TypeError set.
bool keyOf(PyObject *key, QString *text)
{
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "storage keys are str, not %s", Py_TYPE(key)->tp_name);
        return false;
    }
    return Values::toQString(key, text);
}

// "storage['cover']", for errors naming where a value sat.
QString positionOf(PyObject *key)
{
    PyRef repr = PyRef::steal(PyObject_Repr(key));
    QString text;
    if (!repr || !Values::toQString(repr.get(), &text)) {
        PyErr_Clear();
        return QStringLiteral("storage[...]");
    }
    return QStringLiteral("storage[%1]").arg(text);
}

ModuleState *stateOfObject(PyObject *self)
{
    return stateOfType(Py_TYPE(self));
}

// Runs a request of the host without holding the GIL: the database may make it wait.
template<typename Request>
PluginError withoutGil(Request request)
{
    PluginError error;
    PyThreadState *thread = PyEval_SaveThread();
    error = request();
    PyEval_RestoreThread(thread);
    return error;
}

// Looks `key` up: 1 found (value set when asked for), 0 missing, -1 with an exception set.
int lookUp(ModuleState *state, PyObject *key, PyObject **value)
{
    QString text;
    if (!keyOf(key, &text)) {
        return -1;
    }
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return -1;
    }
    QVariant stored;
    bool found = false;
    const PluginError error = withoutGil([&] {
        return services->storageValue(text, value ? &stored : nullptr, &found);
    });
    if (error.isError()) {
        raiseStorageError(state, error);
        return -1;
    }
    if (found && value) {
        *value = Values::toPython(stored, positionOf(key));
        if (!*value) {
            return -1;
        }
    }
    return found ? 1 : 0;
}

// A new list of the keys, sorted, or nullptr with an exception set.
PyObject *keyList(ModuleState *state)
{
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return nullptr;
    }
    QStringList keys;
    const PluginError error = withoutGil([&] {
        return services->storageKeys(&keys);
    });
    if (error.isError()) {
        return raiseStorageError(state, error);
    }
    PyRef list = PyRef::steal(PyList_New(keys.size()));
    if (!list) {
        return nullptr;
    }
    for (qsizetype i = 0; i < keys.size(); ++i) {
        PyObject *key = Values::fromQString(keys.at(i));
        if (!key) {
            return nullptr;
        }
        PyList_SET_ITEM(list.get(), i, key);
    }
    return list.release();
}

// --- Storage -----------------------------------------------------------------------------

PyObject *storage_subscript(PyObject *self, PyObject *key)
{
    PyObject *value = nullptr;
    const int found = lookUp(stateOfObject(self), key, &value);
    if (found == 0) {
        PyErr_SetObject(PyExc_KeyError, key);
    }
    return found == 1 ? value : nullptr;
}

int storage_ass_subscript(PyObject *self, PyObject *key, PyObject *value)
{
    ModuleState *state = stateOfObject(self);
    QString text;
    if (!keyOf(key, &text)) {
        return -1;
    }
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return -1;
    }
    if (!value) {
        bool existed = false;
        const PluginError error = withoutGil([&] {
            return services->removeStorageValue(text, &existed);
        });
        if (error.isError()) {
            raiseStorageError(state, error);
            return -1;
        }
        if (!existed) {
            PyErr_SetObject(PyExc_KeyError, key);
            return -1;
        }
        return 0;
    }
    QVariant converted;
    if (!Values::fromPython(value, &converted, positionOf(key))) {
        return -1;
    }
    const PluginError error = withoutGil([&] {
        return services->setStorageValue(text, converted);
    });
    if (error.isError()) {
        raiseStorageError(state, error);
        return -1;
    }
    return 0;
}

int storage_contains(PyObject *self, PyObject *key)
{
    return lookUp(stateOfObject(self), key, nullptr);
}

Py_ssize_t storage_length(PyObject *self)
{
    ModuleState *state = stateOfObject(self);
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return -1;
    }
    qint64 count = 0;
    const PluginError error = withoutGil([&] {
        return services->storageCount(&count);
    });
    if (error.isError()) {
        raiseStorageError(state, error);
        return -1;
    }
    return Py_ssize_t(count);
}

PyObject *storage_iter(PyObject *self)
{
    PyRef keys = PyRef::steal(keyList(stateOfObject(self)));
    return keys ? PyObject_GetIter(keys.get()) : nullptr;
}

PyObject *storage_get(PyObject *, PyTypeObject *definingClass, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs < 1 || nargs > 2 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_SetString(PyExc_TypeError, "storage.get() takes a key and an optional default, positionally");
        return nullptr;
    }
    PyObject *value = nullptr;
    const int found = lookUp(stateOf(PyType_GetModule(definingClass)), args[0], &value);
    if (found == 0) {
        return Py_NewRef(nargs == 2 ? args[1] : Py_None);
    }
    return found == 1 ? value : nullptr;
}

PyObject *storage_keys(PyObject *, PyTypeObject *definingClass, PyObject *const *, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 0 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_SetString(PyExc_TypeError, "storage.keys() takes no arguments");
        return nullptr;
    }
    return keyList(stateOf(PyType_GetModule(definingClass)));
}

PyObject *storage_items(PyObject *, PyTypeObject *definingClass, PyObject *const *, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 0 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_SetString(PyExc_TypeError, "storage.items() takes no arguments");
        return nullptr;
    }
    ModuleState *state = stateOf(PyType_GetModule(definingClass));
    PyRef keys = PyRef::steal(keyList(state));
    if (!keys) {
        return nullptr;
    }
    PyRef items = PyRef::steal(PyList_New(0));
    if (!items) {
        return nullptr;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys.get()); ++i) {
        PyObject *key = PyList_GET_ITEM(keys.get(), i);
        PyObject *value = nullptr;
        const int found = lookUp(state, key, &value);
        if (found < 0) {
            return nullptr;
        }
        if (found == 0) {
            continue; // removed meanwhile by another thread of the plugin
        }
        PyRef owned = PyRef::steal(value);
        PyRef pair = PyRef::steal(PyTuple_Pack(2, key, value));
        if (!pair || PyList_Append(items.get(), pair.get()) < 0) {
            return nullptr;
        }
    }
    return items.release();
}

PyObject *storage_transaction(PyObject *, PyTypeObject *definingClass, PyObject *const *, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 0 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_SetString(PyExc_TypeError, "storage.transaction() takes no arguments");
        return nullptr;
    }
    ModuleState *state = stateOf(PyType_GetModule(definingClass));
    if (!servicesOrRaise(state)) {
        return nullptr; // unloading: the module's types may be cleared
    }
    auto *transaction = PyObject_GC_New(TransactionObject, reinterpret_cast<PyTypeObject *>(state->transactionType));
    if (!transaction) {
        return nullptr;
    }
    transaction->stage = TransactionObject::Stage::Ready;
    transaction->id = 0;
    transaction->thread = 0;
    PyObject_GC_Track(transaction);
    return reinterpret_cast<PyObject *>(transaction);
}

PyObject *storage_repr(PyObject *self)
{
    ModuleState *state = stateOfObject(self);
    if (!state || !state->services) {
        return PyUnicode_FromString("Storage(<unloading>)"); // repr() must not raise
    }
    return Values::fromQString(QStringLiteral("Storage(plugin='%1')").arg(state->services->pluginId()));
}

constexpr int methodFlags = METH_METHOD | METH_FASTCALL | METH_KEYWORDS;

PyMethodDef storage_methods[] = {
    {"get",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(storage_get)),
     methodFlags,
     PyDoc_STR("get($self, key, default=None, /)\n--\n\nThe value stored under key, or default.")},
    {"keys", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(storage_keys)), methodFlags, PyDoc_STR("keys($self, /)\n--\n\nThe keys, sorted, as a list.")},
    {"items",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(storage_items)),
     methodFlags,
     PyDoc_STR("items($self, /)\n--\n\nThe (key, value) pairs, sorted by key, as a list.")},
    {"transaction",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(storage_transaction)),
     methodFlags,
     PyDoc_STR("transaction($self, /)\n--\n\nA context manager: the writes inside it are committed as one, or rolled back when it exits with an exception.")},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot storage_slots[] = {
    {Py_tp_doc,
     const_cast<char *>("The plugin's own persistent mapping (pluginhost.storage): str keys, values that may cross interpreters. "
                        "Kept by the host across reloads and restarts.")},
    {Py_tp_dealloc, reinterpret_cast<void *>(deallocPlain)},
    {Py_tp_traverse, reinterpret_cast<void *>(visitType)},
    {Py_tp_repr, reinterpret_cast<void *>(storage_repr)},
    {Py_tp_iter, reinterpret_cast<void *>(storage_iter)},
    {Py_mp_subscript, reinterpret_cast<void *>(storage_subscript)},
    {Py_mp_ass_subscript, reinterpret_cast<void *>(storage_ass_subscript)},
    {Py_mp_length, reinterpret_cast<void *>(storage_length)},
    {Py_sq_contains, reinterpret_cast<void *>(storage_contains)},
    {Py_tp_methods, storage_methods},
    {0, nullptr},
};

PyType_Spec storage_spec = {
    "pluginhost.Storage",
    sizeof(PyObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_MAPPING,
    storage_slots,
};

// --- StorageTransaction --------------------------------------------------------------------

PyObject *transaction_enter(PyObject *self, PyTypeObject *definingClass, PyObject *const *, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 0 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_SetString(PyExc_TypeError, "__enter__() takes no arguments");
        return nullptr;
    }
    auto *transaction = reinterpret_cast<TransactionObject *>(self);
    if (transaction->stage != TransactionObject::Stage::Ready) {
        PyErr_SetString(PyExc_RuntimeError, "a storage transaction can be entered once; call storage.transaction() again for another");
        return nullptr;
    }
    ModuleState *state = stateOf(PyType_GetModule(definingClass));
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return nullptr;
    }
    // The caller's frame: what a report of a transaction left open points at.
    QString origin = innermostPythonFrame();
    if (origin.isEmpty()) {
        origin = QStringLiteral("a place outside Python code");
    }
    quint64 id = 0;
    const PluginError error = withoutGil([&] {
        return services->beginStorageTransaction(origin, &id);
    });
    if (error.isError()) {
        return raiseStorageError(state, error);
    }
    transaction->stage = TransactionObject::Stage::Open;
    transaction->id = id;
    transaction->thread = PyThread_get_thread_ident();
    return Py_NewRef(self);
}

PyObject *transaction_exit(PyObject *self, PyTypeObject *definingClass, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 3 || (kwnames && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_SetString(PyExc_TypeError, "__exit__() takes the exception type, value and traceback");
        return nullptr;
    }
    auto *transaction = reinterpret_cast<TransactionObject *>(self);
    if (transaction->stage != TransactionObject::Stage::Open) {
        PyErr_SetString(PyExc_RuntimeError, "this storage transaction is not open");
        return nullptr;
    }
    if (transaction->thread != PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError, "a storage transaction belongs to the thread that entered it: exit it on that thread");
        return nullptr;
    }
    transaction->stage = TransactionObject::Stage::Done;
    ModuleState *state = stateOf(PyType_GetModule(definingClass));
    HostServices *services = servicesOrRaise(state);
    if (!services) {
        return nullptr;
    }
    const bool commit = args[0] == Py_None;
    const PluginError error = withoutGil([&] {
        return services->endStorageTransaction(transaction->id, commit);
    });
    if (error.isError()) {
        return raiseStorageError(state, error);
    }
    Py_RETURN_FALSE; // never swallows the exception
}

PyMethodDef transaction_methods[] = {
    {"__enter__",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(transaction_enter)),
     methodFlags,
     PyDoc_STR("__enter__($self, /)\n--\n\nBegins the transaction.")},
    {"__exit__",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(transaction_exit)),
     methodFlags,
     PyDoc_STR("__exit__($self, type, value, traceback, /)\n--\n\nCommits, or rolls back when an exception is leaving the block.")},
    {nullptr, nullptr, 0, nullptr},
};

void transaction_dealloc(PyObject *self)
{
    auto *transaction = reinterpret_cast<TransactionObject *>(self);
    if (transaction->stage == TransactionObject::Stage::Open) {
        // Entered and dropped without __exit__: roll back, and say where it was entered.
        ModuleState *state = stateOfObject(self);
        if (state && state->services) {
            state->services->abandonStorageTransaction(transaction->id);
        }
    }
    deallocPlain(self);
}

PyType_Slot transaction_slots[] = {
    {Py_tp_doc, const_cast<char *>("What storage.transaction() returns: use it once, in a with statement.")},
    {Py_tp_dealloc, reinterpret_cast<void *>(transaction_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void *>(visitType)},
    {Py_tp_methods, transaction_methods},
    {0, nullptr},
};

PyType_Spec transaction_spec = {
    "pluginhost.StorageTransaction",
    sizeof(TransactionObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    transaction_slots,
};

} // namespace

PyObject *createStorageType(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &storage_spec, nullptr);
}

PyObject *createTransactionType(PyObject *module)
{
    return PyType_FromModuleAndSpec(module, &transaction_spec, nullptr);
}

} // namespace PluginHost::Module
