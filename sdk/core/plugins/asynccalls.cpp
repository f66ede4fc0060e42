#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "asynccalls.h"

#include "callcontrol_p.h"

#include "bridge/pluginerror.h"
#include "bridge/pythonerror.h"
#include "bridge/values.h"
#include "module/eventloop.h"
#include "module/module.h"
#include "runtime/interpreter.h"
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
            // Cancelled or timed out: the caller has its answer. What the task raised (the
            // host's pluginhost.Cancelled) is taken, or asyncio logs it as never retrieved.
            PyRef cancelled = PyRef::steal(PyObject_CallMethod(task, "cancelled", nullptr));
            PyRef exception = cancelled.get() == Py_False ? PyRef::steal(PyObject_CallMethod(task, "exception", nullptr)) : PyRef();
            PyErr_Clear();
            return;
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

// The call as the supervisor holds it while it runs as a task (Interpreter::superviseTask()).
// An interrupt lands in whatever code the loop runs: only the call's own task is cancelled.
class TaskDeadline final : public JobControl
{
public:
    TaskDeadline(std::shared_ptr<CallControl> call, const Module::TaskWatcher *watcher)
        : m_call(std::move(call))
        , m_watcher(watcher)
    {
        setDeadline(m_call->deadline());
    }

    bool isCancelRequested() const override
    {
        return m_call->isCancelRequested();
    }
    bool isSettled() const override
    {
        return m_call->isSettled();
    }
    QString description() const override
    {
        return m_call->description();
    }
    int interrupt(Expiry why, const QString &where) override
    {
        // Unsettled, the watcher lives (it settles the call before it goes), so the address
        // still names this call's task.
        if (m_call->isSettled() || Module::currentTaskWatcher() != m_watcher) {
            return 0;
        }
        return m_call->interrupt(why, where);
    }
    void expire(Expiry why, const QString &detail) override
    {
        m_call->expire(why, detail);
    }

private:
    const std::shared_ptr<CallControl> m_call;
    const Module::TaskWatcher *const m_watcher; // compared, never dereferenced
};

} // namespace

int startAsyncCall(PyObject *awaitable, std::shared_ptr<CallControl> control)
{
    auto watcher = std::make_unique<AsyncCallWatcher>(control);
    const Module::TaskWatcher *identity = watcher.get();
    PyRef task = PyRef::steal(Module::startTask(awaitable, std::move(watcher)));
    if (!task) {
        PyErr_Clear(); // the watcher took the exception into the caller's error
        return 0;
    }
    if (Interpreter *interpreter = Interpreter::current(); interpreter && !control->isSettled()) {
        interpreter->superviseTask(std::make_shared<TaskDeadline>(std::move(control), identity));
    }
    return 0;
}

} // namespace PluginHost
