#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "rawinterpreter.h"

#include <PluginHost/Runtime>

#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace Bench
{

namespace
{
std::mutex &creationMutex()
{
    static std::mutex mutex;
    return mutex;
}

// The pending exception as "TypeError: message"; clears it.
QString takeError()
{
    PyObject *exception = PyErr_GetRaisedException();
    if (!exception) {
        return QStringLiteral("unknown error");
    }
    QString text = QString::fromUtf8(Py_TYPE(exception)->tp_name);
    if (PyObject *message = PyObject_Str(exception)) {
        if (const char *utf8 = PyUnicode_AsUTF8(message)) {
            text += QStringLiteral(": ") + QString::fromUtf8(utf8);
        }
        Py_DECREF(message);
    }
    PyErr_Clear();
    Py_DECREF(exception);
    return text;
}

// module.<name>() if the module defines it, as the SDK calls on_load() and on_unload().
bool callHook(PyObject *module, const char *name)
{
    PyObject *hook = PyObject_GetAttrString(module, name);
    if (!hook) {
        PyErr_Clear();
        return true;
    }
    PyObject *returned = PyObject_CallNoArgs(hook);
    Py_DECREF(hook);
    Py_XDECREF(returned);
    return returned != nullptr;
}
} // namespace

bool setPluginSysPath(const QString &pluginDirectory)
{
    QStringList entries{pluginDirectory};
    entries += PluginHost::Runtime::instance()->basePath();
    PyObject *path = PyList_New(0);
    if (!path) {
        return false;
    }
    for (const QString &entry : std::as_const(entries)) {
        PyObject *item = PyUnicode_FromString(entry.toUtf8().constData());
        if (!item || PyList_Append(path, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(path);
            return false;
        }
        Py_DECREF(item);
    }
    const bool set = PySys_SetObject("path", path) == 0;
    Py_DECREF(path);
    return set;
}

RawInterpreter::RawInterpreter(const QString &pluginDirectory, const QString &module)
    : m_thread([this, pluginDirectory, module] {
        threadMain(pluginDirectory, module);
    })
{
}

RawInterpreter::~RawInterpreter()
{
    bool ended = false;
    {
        std::unique_lock lock(m_replyMutex);
        m_done.wait(lock, [this] {
            return m_ready;
        });
        ended = m_ended;
    }
    if (!ended) {
        try {
            end();
        } catch (const std::runtime_error &) {
            // on_unload() raised: the interpreter is gone all the same.
        }
    }
    m_thread.join();
}

void RawInterpreter::threadMain(const QString &pluginDirectory, const QString &module)
{
    pthread_setname_np(pthread_self(), "raw-interpreter"); // the SDK names its threads too
    const QString error = create(pluginDirectory, module);
    {
        std::lock_guard lock(m_replyMutex);
        m_threadId = gettid();
        m_ready = true;
        m_ended = !error.isEmpty();
        m_error = error;
    }
    m_done.notify_all();
    if (error.isEmpty()) {
        serve();
    }
}

QString RawInterpreter::create(const QString &pluginDirectory, const QString &module)
{
    // The configuration of sdk/core/runtime/interpreter.cpp for an isolated plugin.
    PyInterpreterConfig config = {};
    config.use_main_obmalloc = 0;
    config.allow_fork = 0;
    config.allow_exec = 0;
    config.allow_threads = 1;
    config.allow_daemon_threads = 0;
    config.check_multi_interp_extensions = 1;
    config.gil = PyInterpreterConfig_OWN_GIL;

    PyThreadState *created = nullptr;
    PyStatus status;
    const auto start = std::chrono::steady_clock::now();
    {
        std::lock_guard creation(creationMutex());
        status = Py_NewInterpreterFromConfig(&created, &config);
    }
    const auto createdAt = std::chrono::steady_clock::now();
    if (PyStatus_Exception(status) || !created) {
        return QStringLiteral("Py_NewInterpreterFromConfig failed: %1").arg(QString::fromUtf8(status.err_msg ? status.err_msg : "out of memory"));
    }

    QString error;
    PyObject *imported = nullptr;
    if (!setPluginSysPath(pluginDirectory)) {
        error = takeError();
    } else if (imported = PyImport_ImportModule(module.toUtf8().constData()); !imported) {
        error = takeError();
    } else if (!callHook(imported, "on_load")) {
        error = takeError();
        Py_CLEAR(imported);
    }
    if (!error.isEmpty()) {
        Py_EndInterpreter(created);
        return QStringLiteral("importing %1 from %2: %3").arg(module, pluginDirectory, error);
    }
    m_threadState = created;
    m_interpreterState = PyThreadState_GetInterpreter(created);
    m_module = imported;
    m_phases.newInterpreterMilliseconds = std::chrono::duration<double, std::milli>(createdAt - start).count();
    m_phases.importMilliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - createdAt).count();
    return QString();
}

void RawInterpreter::serve()
{
    for (;;) {
        Request request = Request::None;
        {
            // As the SDK's loop: release the GIL while waiting, never wait for it holding the lock.
            std::unique_lock lock(m_requestMutex);
            PyThreadState *saved = PyEval_SaveThread();
            m_wake.wait(lock, [this] {
                return m_request != Request::None;
            });
            request = std::exchange(m_request, Request::None);
            lock.unlock();
            PyEval_RestoreThread(saved);
        }
        QString error;
        if (request == Request::End) {
            if (!callHook(m_module, "on_unload")) {
                error = takeError();
            }
            Py_CLEAR(m_module);
            Py_EndInterpreter(m_threadState);
            m_threadState = nullptr;
        } else {
            error = invoke();
            if (m_returnHook) {
                m_returnHook();
            }
        }
        {
            std::lock_guard lock(m_replyMutex);
            m_replied = true;
            m_error = error;
            m_ended = request == Request::End;
        }
        m_done.notify_one();
        if (request == Request::End) {
            return;
        }
    }
}

QString RawInterpreter::invoke()
{
    // The SDK's call job looks the function up by name and calls it with a tuple of arguments.
    PyObject *function = PyObject_GetAttrString(m_module, m_function);
    if (!function) {
        return takeError();
    }
    PyObject *arguments = PyTuple_New(Py_ssize_t(m_arguments.size()));
    for (std::size_t index = 0; arguments && index < m_arguments.size(); ++index) {
        PyTuple_SET_ITEM(arguments, Py_ssize_t(index), PyLong_FromLongLong(m_arguments[index]));
    }
    PyObject *returned = arguments ? PyObject_Call(function, arguments, nullptr) : nullptr;
    Py_DECREF(function);
    Py_XDECREF(arguments);
    if (!returned) {
        return takeError();
    }
    Py_DECREF(returned);
    return QString();
}

void RawInterpreter::request(Request request, const char *function, std::initializer_list<long long> arguments)
{
    {
        std::lock_guard lock(m_requestMutex);
        m_request = request;
        m_function = function;
        m_arguments.assign(arguments);
    }
    m_wake.notify_one();
}

void RawInterpreter::waitForReply()
{
    std::unique_lock lock(m_replyMutex);
    m_done.wait(lock, [this] {
        return m_replied;
    });
    m_replied = false;
    if (!m_error.isEmpty()) {
        throw std::runtime_error(m_error.toStdString());
    }
}

void RawInterpreter::waitUntilReady()
{
    std::unique_lock lock(m_replyMutex);
    m_done.wait(lock, [this] {
        return m_ready;
    });
    if (!m_error.isEmpty()) {
        throw std::runtime_error(m_error.toStdString());
    }
}

void RawInterpreter::call(const char *function, std::initializer_list<long long> arguments)
{
    request(Request::Call, function, arguments);
    waitForReply();
}

void RawInterpreter::begin(const char *function, std::initializer_list<long long> arguments)
{
    request(Request::Call, function, arguments);
}

void RawInterpreter::finish()
{
    waitForReply();
}

void RawInterpreter::setReturnHook(std::function<void()> hook)
{
    std::lock_guard lock(m_requestMutex); // the thread reads it after taking a request under this lock
    m_returnHook = std::move(hook);
}

PyInterpreterState *RawInterpreter::interpreterState()
{
    waitUntilReady();
    std::lock_guard lock(m_replyMutex);
    return m_interpreterState;
}

PyObject *RawInterpreter::moduleAttribute(const char *name) const
{
    return PyObject_GetAttrString(m_module, name);
}

RawInterpreter::CreationPhases RawInterpreter::creationPhases()
{
    waitUntilReady();
    std::lock_guard lock(m_replyMutex);
    return m_phases;
}

pid_t RawInterpreter::threadId()
{
    waitUntilReady();
    std::lock_guard lock(m_replyMutex);
    return m_threadId;
}

void RawInterpreter::end()
{
    waitUntilReady();
    {
        std::lock_guard lock(m_replyMutex);
        if (m_ended) {
            return;
        }
    }
    request(Request::End, nullptr, {});
    waitForReply();
}

} // namespace Bench
