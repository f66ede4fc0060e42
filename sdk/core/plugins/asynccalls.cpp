#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "asynccalls.h"

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
    AsyncCallWatcher(QPromise<QVariant> promise, std::shared_ptr<JobControl> control, const QString &pluginId, const QString &function)
        : m_promise(std::move(promise))
        , m_control(std::move(control))
        , m_pluginId(pluginId)
        , m_function(function)
    {
    }

    ~AsyncCallWatcher() override
    {
        if (!m_completed) {
            fail(PluginError(PluginError::Kind::Unloaded, m_pluginId, QStringLiteral("%1() did not finish: the plugin unloaded while it awaited").arg(m_function)));
        }
    }

    void finished(PyObject *task, bool unloading) override
    {
        if (m_completed) {
            return; // cancelled or timed out: the caller has its answer
        }
        PyRef cancelled = PyRef::steal(PyObject_CallMethod(task, "cancelled", nullptr));
        if (!cancelled) {
            fail(takePythonError(PluginError::Kind::PythonException, m_pluginId));
            return;
        }
        if (cancelled.get() == Py_True) {
            if (m_promise.isCanceled()) {
                complete(); // the caller cancelled before the poll noticed
            } else if (unloading) {
                fail(PluginError(PluginError::Kind::Unloaded, m_pluginId, QStringLiteral("%1() was cancelled: the plugin unloaded while it awaited").arg(m_function)));
            } else {
                fail(PluginError(PluginError::Kind::Cancelled, m_pluginId, QStringLiteral("%1() was cancelled inside the plugin (asyncio.CancelledError)").arg(m_function)));
            }
            return;
        }
        PyRef exception = PyRef::steal(PyObject_CallMethod(task, "exception", nullptr));
        if (!exception) {
            fail(takePythonError(PluginError::Kind::PythonException, m_pluginId));
            return;
        }
        if (exception.get() != Py_None) {
            const bool interrupted = Module::isCancelled(exception.get());
            PyErr_SetRaisedException(exception.release());
            fail(takePythonError(interrupted ? PluginError::Kind::Cancelled : PluginError::Kind::PythonException, m_pluginId));
            return;
        }
        PyRef result = PyRef::steal(PyObject_CallMethod(task, "result", nullptr));
        QVariant value;
        if (!result || !Values::fromPython(result.get(), &value, QStringLiteral("the result of %1()").arg(m_function))) {
            fail(takePythonError(result ? PluginError::Kind::InvalidValue : PluginError::Kind::PythonException, m_pluginId));
            return;
        }
        m_promise.addResult(std::move(value));
        complete();
    }

    void notStarted() override
    {
        fail(takePythonError(PluginError::Kind::PythonException, m_pluginId));
    }

    bool polls() const override
    {
        return true;
    }

    bool poll() override
    {
        if (m_completed || m_expired) {
            return false;
        }
        if (m_promise.isCanceled() || (m_control && m_control->isCancelRequested())) {
            expire(JobControl::Expiry::Cancelled, QStringLiteral("the caller cancelled %1()").arg(m_function));
            return true;
        }
        if (m_control && m_control->hasDeadline() && JobControl::Clock::now() >= m_control->deadline()) {
            expire(JobControl::Expiry::TimedOut, QStringLiteral("%1() passed its deadline while it awaited; its task was cancelled").arg(m_function));
            return true;
        }
        return false;
    }

private:
    // The caller's wait ends now, whatever the coroutine does with its CancelledError.
    void expire(JobControl::Expiry why, const QString &detail)
    {
        m_expired = true;
        if (why == JobControl::Expiry::TimedOut) {
            fail(PluginError(PluginError::Kind::TimedOut, m_pluginId, detail));
        } else {
            complete(); // canceled by the caller already: ends without a value
        }
    }

    void fail(const PluginError &error)
    {
        m_promise.setException(CallError(error));
        complete();
    }

    void complete()
    {
        m_completed = true;
        m_promise.finish();
    }

    QPromise<QVariant> m_promise;
    std::shared_ptr<JobControl> m_control;
    const QString m_pluginId;
    const QString m_function;
    bool m_completed = false;
    bool m_expired = false; // the caller's wait ended: a cancel or the deadline
};

} // namespace

int startAsyncCall(PyObject *awaitable, QPromise<QVariant> promise, std::shared_ptr<JobControl> control, const QString &pluginId, const QString &function)
{
    PyRef task = PyRef::steal(Module::startTask(awaitable, std::make_unique<AsyncCallWatcher>(std::move(promise), std::move(control), pluginId, function)));
    PyErr_Clear(); // on failure the watcher took the exception into the caller's error
    return 0;
}

} // namespace PluginHost
