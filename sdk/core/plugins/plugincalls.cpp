// Jobs that run plugin code on behalf of others: calls, event deliveries, descriptions.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "pluginjobs.h"

#include "asynccalls.h"
#include "callcontrol_p.h"

#include "bridge/pythonerror.h"
#include "bridge/values.h"
#include "module/eventloop.h"
#include "module/module.h"
#include "plugincontext_p.h"
#include "runtime/pyref.h"

#include "pluginhost_plugins_debug.h"

namespace PluginHost
{

namespace
{

QString listOrNone(const QStringList &names)
{
    return names.isEmpty() ? QStringLiteral("(none)") : names.join(QLatin1String(", "));
}

// Public module-level callables: what a plugin that exports nothing can be called through.
QStringList callableNames(PyObject *module)
{
    QStringList names;
    PyObject *dict = PyModule_GetDict(module); // borrowed
    Py_ssize_t cursor = 0;
    PyObject *key = nullptr;
    PyObject *value = nullptr;
    while (PyDict_Next(dict, &cursor, &key, &value)) {
        const char *utf8 = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : nullptr;
        if (utf8 && utf8[0] != '_' && PyCallable_Check(value) && !PyType_Check(value) && !PyModule_Check(value)) {
            names.append(QString::fromUtf8(utf8));
        }
    }
    PyErr_Clear();
    names.sort();
    return names;
}

PluginError notLoaded(const PluginContext *context, const QString &pluginId)
{
    return context && context->loadError.isError() ? context->loadError
                                                   : PluginError(PluginError::Kind::Unloaded, pluginId, QStringLiteral("the plugin is not loaded"));
}

PluginError notRun(Job::DiscardReason reason, const QString &pluginId, const QString &what, const QString &detail)
{
    PluginError::Kind kind = PluginError::Kind::Unloaded;
    if (reason == Job::DiscardReason::InterpreterFailed) {
        kind = PluginError::Kind::InterpreterFailed;
    } else if (reason == Job::DiscardReason::Overloaded) {
        kind = PluginError::Kind::Overloaded;
    }
    return PluginError(kind, pluginId, QStringLiteral("%1 did not run: %2").arg(what, detail));
}

class CallJob final : public Job
{
public:
    CallJob(const QString &pluginId, const QString &function, const QVariantList &arguments, Kind kind, QPromise<QVariant> promise, std::chrono::milliseconds timeout)
        : Job(kind)
        , m_arguments(arguments)
        , m_control(std::make_shared<CallControl>(pluginId, function, timeout, std::move(promise)))
    {
    }

    const std::shared_ptr<JobControl> &control() const override
    {
        return m_control;
    }
    QString description() const override
    {
        return m_control->description();
    }

    int run(Interpreter &interpreter) override
    {
        if (call().isCancelRequested()) {
            call().cancel();
            return 0;
        }
        PluginContext *context = PluginContext::of(interpreter);
        if (!context || !context->module) {
            fail(notLoaded(context, pluginId()));
            return 0;
        }
        PyRef function = lookUp(*context);
        if (!function) {
            return 0;
        }
        PyRef arguments = PyRef::steal(Values::toPythonTuple(m_arguments, QStringLiteral("args")));
        if (!arguments) {
            fail(takePythonError(PluginError::Kind::InvalidValue, pluginId()));
            return 0;
        }
        PyRef returned = PyRef::steal(PyObject_Call(function.get(), arguments.get(), nullptr));
        if (!returned) {
            fail(takePythonError(PluginError::Kind::PythonException, pluginId()));
            return 0;
        }
        if (Module::isAwaitable(returned.get())) { // an `async def` export: it completes from its task
            return startAsyncCall(returned.get(), std::static_pointer_cast<CallControl>(m_control));
        }
        QVariant value;
        // The position is only spelled out for the error message: formatting it for every call
        // cost more than a trivial call. Converting is deterministic, so the second attempt
        // raises what the first one did, naming the position.
        if (!Values::fromPython(returned.get(), &value, QString())) {
            PyErr_Clear();
            if (!Values::fromPython(returned.get(), &value, QStringLiteral("the result of %1()").arg(functionName()))) {
                fail(takePythonError(PluginError::Kind::InvalidValue, pluginId()));
                return 0;
            }
        }
        call().succeed(std::move(value));
        return 0;
    }

    void discard(DiscardReason reason, const QString &detail) override
    {
        fail(notRun(reason, pluginId(), functionName() + QLatin1String("()"), detail));
    }

private:
    const QString &pluginId() const
    {
        return call().pluginId;
    }
    const QString &functionName() const
    {
        return call().function;
    }

    PyRef lookUp(PluginContext &context)
    {
        const QString &functionName = this->functionName();
        PyObject *name = context.nameObject(functionName); // borrowed
        if (!name) {
            fail(takePythonError(PluginError::Kind::InvalidValue, pluginId()));
            return PyRef();
        }
        // The export first: building the list of exports is only worth it for the error message.
        if (context.pluginhostModule) {
            if (PyRef function = PyRef::steal(Module::findExport(context.pluginhostModule.get(), name))) {
                return function;
            }
        }
        const QList<Module::ExportInfo> exports = Module::exports();
        if (!exports.isEmpty()) {
            QStringList names;
            for (const Module::ExportInfo &exported : exports) {
                names.append(exported.name);
            }
            fail(PluginError(PluginError::Kind::NotFound, pluginId(), QStringLiteral("no export '%1'; it exports: %2").arg(functionName, listOrNone(names))));
            return PyRef();
        }
        // A plugin that exports nothing keeps the calling convention from before @pluginhost.export.
        PyRef function;
        if (!functionName.startsWith(QLatin1Char('_'))) {
            function = moduleAttribute(context.module.get(), name);
        }
        if (!function || !PyCallable_Check(function.get()) || PyType_Check(function.get()) || PyModule_Check(function.get())) {
            fail(PluginError(PluginError::Kind::NotFound,
                             pluginId(),
                             QStringLiteral("no function '%1'; it has: %2").arg(functionName, listOrNone(callableNames(context.module.get())))));
            return PyRef();
        }
        return function;
    }

    // getattr(module, name), or null with no exception set. The module type and object
    // define no attribute without a leading underscore, so for a plain module its own dict
    // gives the same answer, without getattr()'s search of the type for a name never interned.
    static PyRef moduleAttribute(PyObject *module, PyObject *name)
    {
        PyRef attribute;
        if (PyModule_CheckExact(module)) {
            attribute = PyRef::borrow(PyDict_GetItemWithError(PyModule_GetDict(module), name));
        }
        if (!attribute && !PyErr_Occurred()) {
            attribute = PyRef::steal(PyObject_GetAttr(module, name)); // module __getattr__, module subclasses
        }
        PyErr_Clear();
        return attribute;
    }

    void fail(const PluginError &error)
    {
        call().fail(error);
    }

    CallControl &call() const
    {
        return static_cast<CallControl &>(*m_control);
    }

    const QVariantList m_arguments;
    const std::shared_ptr<JobControl> m_control; // a CallControl
};

class EventJob : public Job
{
public:
    EventJob(const QString &pluginId, const QString &event, const QVariant &payload, const QString &sender, std::shared_ptr<std::atomic<int>> queued)
        : m_pluginId(pluginId)
        , m_event(event)
        , m_payload(payload)
        , m_sender(sender)
        , m_queued(std::move(queued))
    {
    }
    ~EventJob() override
    {
        if (m_queued) {
            --*m_queued;
        }
    }

    QString description() const override
    {
        return QStringLiteral("the handlers of event '%1'").arg(m_event);
    }

    int run(Interpreter &interpreter) override
    {
        PluginContext *context = PluginContext::of(interpreter);
        if (!context || !context->module || !context->pluginhostModule) {
            return 0;
        }
        // Both kept: the second lookup may empty the cache the first one's object is in.
        const PyRef event = PyRef::borrow(context->nameObject(m_event));
        const PyRef sender = event ? PyRef::borrow(context->nameObject(m_sender)) : PyRef();
        if (!sender) {
            qCWarning(PLUGINHOST_PLUGINS) << "event" << m_event << "from" << m_sender << "not delivered to" << m_pluginId << ": its name cannot be a Python str";
            PyErr_Clear();
            return 0;
        }
        Module::deliverEvent(context->pluginhostModule.get(), m_event, event.get(), m_payload, sender.get());
        return 0;
    }

    void discard(DiscardReason, const QString &detail) override
    {
        qCDebug(PLUGINHOST_PLUGINS) << "event" << m_event << "not delivered to" << m_pluginId << ":" << detail;
    }

private:
    const QString m_pluginId;
    const QString m_event;
    const QVariant m_payload;
    const QString m_sender;
    const std::shared_ptr<std::atomic<int>> m_queued; // the sender's events queued here (PluginRegistry::deliver)
};

// str(inspect.signature(function)), or empty when Python cannot tell (some builtins).
QString signatureOf(PyObject *inspect, PyObject *function)
{
    PyRef signature = PyRef::steal(PyObject_CallMethod(inspect, "signature", "O", function));
    PyRef text = signature ? PyRef::steal(PyObject_Str(signature.get())) : PyRef();
    const char *utf8 = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
    PyErr_Clear();
    return utf8 ? QString::fromUtf8(utf8) : QString();
}

QString docOf(PyObject *inspect, PyObject *function)
{
    PyRef doc = PyRef::steal(PyObject_CallMethod(inspect, "getdoc", "O", function));
    const char *utf8 = doc && PyUnicode_Check(doc.get()) ? PyUnicode_AsUTF8(doc.get()) : nullptr;
    PyErr_Clear();
    return utf8 ? QString::fromUtf8(utf8) : QString();
}

class DescribeExportsJob : public Job
{
public:
    DescribeExportsJob(const QString &pluginId, QPromise<QVariantList> promise)
        : m_pluginId(pluginId)
        , m_promise(std::move(promise))
    {
    }

    int run(Interpreter &interpreter) override
    {
        const PluginContext *context = PluginContext::of(interpreter);
        if (!context || !context->module) {
            fail(notLoaded(context, m_pluginId));
            return 0;
        }
        // Imported here, not at load: inspect costs milliseconds that most plugins never need.
        PyRef inspect = PyRef::steal(PyImport_ImportModule("inspect"));
        if (!inspect) {
            fail(takePythonError(PluginError::Kind::PythonException, m_pluginId));
            return 0;
        }
        QVariantList descriptions;
        for (const Module::ExportInfo &exported : Module::exports()) {
            PyRef function = PyRef::steal(Module::findExport(exported.name));
            descriptions.append(QVariantMap{
                {QStringLiteral("name"), exported.name},
                {QStringLiteral("signature"), function ? signatureOf(inspect.get(), function.get()) : QString()},
                {QStringLiteral("doc"), function ? docOf(inspect.get(), function.get()) : QString()},
                {QStringLiteral("reentrant"), exported.reentrant},
            });
        }
        m_promise.addResult(descriptions);
        m_promise.finish();
        return 0;
    }

    void discard(DiscardReason reason, const QString &detail) override
    {
        fail(notRun(reason, m_pluginId, QStringLiteral("describing the exports"), detail));
    }

private:
    void fail(const PluginError &error)
    {
        m_promise.setException(CallError(error));
        m_promise.finish();
    }

    const QString m_pluginId;
    QPromise<QVariantList> m_promise;
};

} // namespace

std::unique_ptr<Job>
makeCallJob(const QString &pluginId, const QString &function, const QVariantList &arguments, Job::Kind kind, QPromise<QVariant> promise, std::chrono::milliseconds timeout)
{
    return std::make_unique<CallJob>(pluginId, function, arguments, kind, std::move(promise), timeout);
}

std::unique_ptr<Job>
makeEventJob(const QString &pluginId, const QString &event, const QVariant &payload, const QString &sender, std::shared_ptr<std::atomic<int>> queued)
{
    return std::make_unique<EventJob>(pluginId, event, payload, sender, std::move(queued));
}

std::unique_ptr<Job> makeDescribeExportsJob(const QString &pluginId, QPromise<QVariantList> promise)
{
    return std::make_unique<DescribeExportsJob>(pluginId, std::move(promise));
}

} // namespace PluginHost
