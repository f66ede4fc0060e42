#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "asynccalls.h"

#include "callcontrol_p.h"

#include "bridge/pluginerror.h"
#include "bridge/pythonerror.h"
#include "bridge/values.h"
#include "module/eventloop.h"
#include "module/module.h"
#include "runtime/pyref.h"

namespace PluginHost
{

namespace
{

class AsyncCallWatcher : public Module::TaskWatcher
{
public:
    explicit AsyncCallWatcher(std::shared_ptr<CallControl> control)
        : m_control(std::move(control))
    {
    }

    ~AsyncCallWatcher() override
    {
        if (!m_control->isSettled()) {
            fail(PluginError(PluginError::Kind::Unloaded, pluginId(), QStringLiteral("%1() did not finish: the plugin unloaded while it awaited").arg(function())));
        }
    }

    void finished(PyObject *task, bool unloading) override
    {
        if (m_control->isSettled()) {
            return; // cancelled or timed out: the caller has its answer
        }
        PyRef cancelled = PyRef::steal(PyObject_CallMethod(task, "cancelled", nullptr));
        if (!cancelled) {
            fail(takePythonError(PluginError::Kind::PythonException, pluginId()));
            return;
        }
        if (cancelled.get() == Py_True) {
            if (m_control->isCancelRequested()) {
                cancel(); // the caller cancelled before the poll noticed
            } else if (unloading) {
                fail(PluginError(PluginError::Kind::Unloaded, pluginId(), QStringLiteral("%1() was cancelled: the plugin unloaded while it awaited").arg(function())));
            } else {
                fail(PluginError(PluginError::Kind::Cancelled, pluginId(), QStringLiteral("%1() was cancelled inside the plugin (asyncio.CancelledError)").arg(function())));
            }
            return;
        }
        PyRef exception = PyRef::steal(PyObject_CallMethod(task, "exception", nullptr));
        if (!exception) {
            fail(takePythonError(PluginError::Kind::PythonException, pluginId()));
            return;
        }
        if (exception.get() != Py_None) {
            const bool interrupted = Module::isCancelled(exception.get());
            PyErr_SetRaisedException(exception.release());
            fail(takePythonError(interrupted ? PluginError::Kind::Cancelled : PluginError::Kind::PythonException, pluginId()));
            return;
        }
        PyRef result = PyRef::steal(PyObject_CallMethod(task, "result", nullptr));
        QVariant value;
        if (!result || !Values::fromPython(result.get(), &value, QStringLiteral("the result of %1()").arg(function()))) {
            fail(takePythonError(result ? PluginError::Kind::InvalidValue : PluginError::Kind::PythonException, pluginId()));
            return;
        }
        m_control->succeed(std::move(value));
    }

    void notStarted() override
    {
        fail(takePythonError(PluginError::Kind::PythonException, pluginId()));
    }

    bool polls() const override
    {
        return true;
    }

    bool poll() override
    {
        if (m_expired) {
            return false;
        }
        if (m_control->isCancelRequested()) {
            m_expired = true;
            cancel();
            return true;
        }
        if (m_control->isSettled()) { // the supervisor ended the wait as the call became a task
            m_expired = true;
            return true;
        }
        if (m_control->hasDeadline() && JobControl::Clock::now() >= m_control->deadline()) {
            m_expired = true;
            fail(PluginError(PluginError::Kind::TimedOut, pluginId(), QStringLiteral("%1() passed its deadline while it awaited; its task was cancelled").arg(function())));
            return true;
        }
        return false;
    }

private:
    const QString &pluginId() const
    {
        return m_control->pluginId;
    }
    const QString &function() const
    {
        return m_control->function;
    }
    void fail(const PluginError &error)
    {
        m_control->fail(error);
    }
    // The caller cancelled: the future ends without a value, whatever the coroutine does with
    // its CancelledError.
    void cancel()
    {
        m_control->cancel();
    }

    const std::shared_ptr<CallControl> m_control;
    bool m_expired = false; // the task was given up: a cancel, the deadline or the supervisor
};

} // namespace

int startAsyncCall(PyObject *awaitable, std::shared_ptr<CallControl> control)
{
    PyRef task = PyRef::steal(Module::startTask(awaitable, std::make_unique<AsyncCallWatcher>(std::move(control))));
    PyErr_Clear(); // on failure the watcher took the exception into the caller's error
    return 0;
}

} // namespace PluginHost
