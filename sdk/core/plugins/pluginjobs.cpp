#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "pluginjobs.h"

#include "bridge/pythonerror.h"
#include "bridge/values.h"
#include "module/eventloop.h"
#include "module/module.h"
#include "plugincontext_p.h"
#include "pluginregistry.h"
#include "pluginservices.h"
#include "retirement_p.h"
#include "runtime/pyref.h"
#include "runtime/runtime.h"
#include "runtime/runtime_p.h"
#include "storage/profiledatabase.h"

#include "pluginhost_plugins_debug.h"

#include <QDir>
#include <QHash>
#include <QRegularExpression>

namespace PluginHost
{

PluginContext::PluginContext() = default;

PluginContext::~PluginContext()
{
    // Normally the unload job detached the module already; this covers an interpreter that
    // ends without one, so that nothing in it can reach the services once they are gone.
    uninstallModule();
}

void PluginContext::uninstallModule()
{
    if (moduleInstalled) {
        moduleInstalled = false;
        pluginhostModule = PyRef();
        Module::uninstall();
    }
}

PyObject *PluginContext::nameObject(const QString &name)
{
    if (const auto found = names.constFind(name); found != names.cend()) {
        return found->get();
    }
    constexpr qsizetype limit = 4096; // names are few; a caller making up new ones is not cached forever
    if (names.size() >= limit) {
        names.clear();
    }
    PyRef object = PyRef::steal(Values::fromQString(name));
    if (!object) {
        return nullptr;
    }
    return names.insert(name, std::move(object))->get();
}

namespace
{

bool setSysPath(const QString &pluginDirectory)
{
    PyRef path = PyRef::steal(PyList_New(0));
    if (!path) {
        return false;
    }
    QStringList entries{pluginDirectory};
    entries += Runtime::instance()->basePath();
    for (const QString &entry : std::as_const(entries)) {
        PyRef item = PyRef::steal(Values::fromQString(entry));
        if (!item || PyList_Append(path.get(), item.get()) < 0) {
            return false;
        }
    }
    return PySys_SetObject("path", path.get()) == 0;
}

// Extensions an isolated interpreter refused on CPython 3.12, and which plugin tried:
// loading them again would crash the process (see Shim::refusedSinglePhaseExtensionsPoisonProcess).
struct PoisonedExtensions {
    std::mutex mutex;
    QHash<QString, QString> refusedFor; // module -> plugin id
};

PoisonedExtensions &poisonedExtensions()
{
    static PoisonedExtensions extensions;
    return extensions;
}

// Makes `import name` fail fast for every poisoned extension, before plugin code runs.
bool blockPoisonedExtensions()
{
    if constexpr (!Shim::refusedSinglePhaseExtensionsPoisonProcess) {
        return true;
    }
    QStringList names;
    {
        std::lock_guard lock(poisonedExtensions().mutex);
        names = poisonedExtensions().refusedFor.keys();
    }
    PyObject *modules = PyImport_GetModuleDict(); // borrowed
    for (const QString &name : std::as_const(names)) {
        if (PyDict_SetItemString(modules, name.toUtf8().constData(), Py_None) < 0) {
            return false;
        }
    }
    return true;
}

const QRegularExpression &refusalPattern()
{
    static const QRegularExpression unsupported(QStringLiteral("module (\\S+) does not support loading in subinterpreters"));
    return unsupported;
}

QString poisonedMessage(const QString &module, const QString &refusedFor)
{
    return QStringLiteral("the extension module '%1' was refused by the isolated plugin %2 earlier in this process, and "
                          "CPython %3 cannot load it again safely (fixed in 3.13); restart the host to load it")
        .arg(module, refusedFor, Runtime::pythonVersion());
}

// _imp.create_dynamic(spec, file=None) as seen by a plugin on CPython 3.12. `self` is the tuple
// (the original function, the plugin id). A refusal is recorded even when Python code catches
// it (datetime falls back to _pydatetime when _datetime is refused, and so does decimal), and a
// poisoned extension is refused before its init function can run a second time.
PyObject *guardedCreateDynamic(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    QString module;
    if (nargs > 0) {
        PyRef name = PyRef::steal(PyObject_GetAttrString(args[0], "name"));
        if (!name || !Values::toQString(name.get(), &module)) {
            return nullptr;
        }
    }
    QString refusedFor;
    {
        std::lock_guard lock(poisonedExtensions().mutex);
        refusedFor = poisonedExtensions().refusedFor.value(module);
    }
    if (!refusedFor.isEmpty()) {
        PyErr_SetString(PyExc_ImportError, poisonedMessage(module, refusedFor).toUtf8().constData());
        return nullptr;
    }
    PyObject *created = PyObject_Vectorcall(PyTuple_GET_ITEM(self, 0), args, static_cast<size_t>(nargs), nullptr);
    if (!created && PyErr_ExceptionMatches(PyExc_ImportError)) {
        PyObject *error = PyErr_GetRaisedException();
        PyRef text = PyRef::steal(PyObject_Str(error));
        QString message;
        QString pluginId;
        if (text && Values::toQString(text.get(), &message) && Values::toQString(PyTuple_GET_ITEM(self, 1), &pluginId)) {
            if (const QRegularExpressionMatch refusal = refusalPattern().match(message); refusal.hasMatch()) {
                std::lock_guard lock(poisonedExtensions().mutex);
                poisonedExtensions().refusedFor.insert(refusal.captured(1), pluginId);
            }
        }
        PyErr_Clear();
        PyErr_SetRaisedException(error);
    }
    return created;
}

PyMethodDef guardedCreateDynamicDefinition = {
    "create_dynamic",
    reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(guardedCreateDynamic)),
    METH_FASTCALL,
    PyDoc_STR("Creates an extension module; refuses the ones CPython 3.12 can no longer load safely in this process."),
};

// On CPython 3.12, routes this interpreter's extension imports through guardedCreateDynamic().
bool guardExtensionImports(const QString &pluginId)
{
    if constexpr (!Shim::refusedSinglePhaseExtensionsPoisonProcess) {
        return true;
    }
    PyRef imp = PyRef::steal(PyImport_ImportModule("_imp"));
    PyRef original = imp ? PyRef::steal(PyObject_GetAttrString(imp.get(), "create_dynamic")) : PyRef();
    PyRef id = PyRef::steal(Values::fromQString(pluginId));
    PyRef self = original && id ? PyRef::steal(PyTuple_Pack(2, original.get(), id.get())) : PyRef();
    PyRef guarded = self ? PyRef::steal(PyCFunction_New(&guardedCreateDynamicDefinition, self.get())) : PyRef();
    return guarded && PyObject_SetAttrString(imp.get(), "create_dynamic", guarded.get()) == 0;
}

// Turns CPython's "module X does not support loading in subinterpreters" into advice.
void explainSubinterpreterImport(PluginError &error, const PluginMetaData &metaData)
{
    static const QRegularExpression halted(QStringLiteral("import of (\\S+) halted; None in sys.modules"));
    if (const QRegularExpressionMatch blocked = halted.match(error.message()); blocked.hasMatch()) {
        std::lock_guard lock(poisonedExtensions().mutex);
        const QString refusedFor = poisonedExtensions().refusedFor.value(blocked.captured(1));
        if (!refusedFor.isEmpty()) {
            error.setMessage(poisonedMessage(blocked.captured(1), refusedFor));
        }
        return;
    }
    const QRegularExpressionMatch match = refusalPattern().match(error.message());
    if (!match.hasMatch()) {
        return;
    }
    if constexpr (Shim::refusedSinglePhaseExtensionsPoisonProcess) {
        std::lock_guard lock(poisonedExtensions().mutex);
        poisonedExtensions().refusedFor.insert(match.captured(1), metaData.id());
    }
    if (metaData.isolation() == PluginMetaData::Isolation::Isolated) {
        error.setMessage(QStringLiteral("the extension module '%1' does not support isolated subinterpreters (a per-interpreter GIL). "
                                        "Set \"X-PluginHost-Isolation\": \"shared\" in %2 to run this plugin under the shared GIL, "
                                        "or use a version of '%1' that supports PEP 684")
                             .arg(match.captured(1), metaData.metaDataFile()));
    } else {
        error.setMessage(QStringLiteral("the extension module '%1' does not support subinterpreters at all, not even with a shared GIL; "
                                        "it can only run in a separate process")
                             .arg(match.captured(1)));
    }
}

// Calls module.<name>() if the module defines it. `result` receives its return value.
PluginError callHook(PluginContext &context, const char *name, QVariant *result)
{
    PyRef hook = PyRef::steal(PyObject_GetAttrString(context.module.get(), name));
    if (!hook) {
        PyErr_Clear();
        return PluginError();
    }
    PyRef returned = PyRef::steal(PyObject_CallNoArgs(hook.get()));
    if (returned && Module::isAwaitable(returned.get())) { // async def: runs to its end on the plugin's loop
        returned = PyRef::steal(Module::runUntilComplete(returned.get()));
    }
    if (!returned) {
        return takePythonError(PluginError::Kind::PythonException, context.pluginId);
    }
    if (result && !Values::fromPython(returned.get(), result, QStringLiteral("the value %1() returned").arg(QLatin1String(name)))) {
        return takePythonError(PluginError::Kind::InvalidValue, context.pluginId);
    }
    return PluginError();
}

// The interface of the instance that just loaded (or nothing, when it failed), unless a later
// load, unload or reload has begun since.
void publishInterface(PluginShared &shared, quint64 generation, const QList<PluginExport> &exports, const QSet<QString> &subscriptions)
{
    std::lock_guard lock(shared.mutex);
    if (shared.generation == generation) {
        shared.exports = exports;
        shared.subscriptions = subscriptions;
    }
}

class LoadJob : public Job
{
public:
    LoadJob(std::shared_ptr<PluginShared> shared,
            std::shared_ptr<PluginRegistry> registry,
            quint64 generation,
            QFuture<CallResult> previousInstance,
            QPromise<CallResult> promise)
        : m_shared(std::move(shared))
        , m_registry(std::move(registry))
        , m_generation(generation)
        , m_previousInstance(std::move(previousInstance))
        , m_promise(std::move(promise))
    {
    }

    int run(Interpreter &interpreter) override
    {
        const PluginMetaData &metaData = m_shared->metaData;
        auto context = std::make_shared<PluginContext>();
        context->pluginId = metaData.id();
        if (m_previousInstance.isValid()) {
            // The old interpreter ends on its own thread; never hold a GIL while waiting for it.
            Py_BEGIN_ALLOW_THREADS m_previousInstance.waitForFinished();
            Py_END_ALLOW_THREADS
            context->previousState = m_previousInstance.result().value();
        } else {
            std::lock_guard lock(m_shared->mutex);
            context->previousState = m_shared->stateForNextLoad;
            if (m_shared->generation == m_generation) {
                // A fresh start: nothing of an earlier instance carries over.
                m_shared->exports.clear();
                m_shared->subscriptions.clear();
            }
        }
        context->database = m_registry->database();
        if (!m_previousInstance.isValid() && metaData.persistsState()) {
            takePersistedState(*context);
        }
        context->services = std::make_unique<PluginServices>(m_shared, m_registry, interpreter, context->previousState);
        interpreter.setContext(context);

        PluginError error;
        if (!setSysPath(metaData.directory()) || !blockPoisonedExtensions() || !guardExtensionImports(metaData.id())) {
            error = takePythonError(PluginError::Kind::LoadFailed, metaData.id());
        }
        if (!error.isError()) {
            context->moduleInstalled = Module::install(context->services.get());
            if (context->moduleInstalled) {
                context->pluginhostModule = PyRef::steal(Module::installedModule());
            } else {
                error = takePythonError(PluginError::Kind::LoadFailed, metaData.id());
                error.setMessage(QStringLiteral("the pluginhost module could not be set up: %1").arg(error.message()));
            }
        }
        if (!error.isError()) {
            context->module = PyRef::steal(PyImport_ImportModule(metaData.entryPoint().toUtf8().constData()));
            if (!context->module) {
                error = takePythonError(PluginError::Kind::LoadFailed, metaData.id());
                explainSubinterpreterImport(error, metaData);
            }
        }
        if (!error.isError()) {
            error = callHook(*context, "on_load", nullptr);
            if (error.isError()) {
                error.setKind(PluginError::Kind::LoadFailed);
            }
        }

        recordLoad(*context, error);
        if (error.isError()) {
            context->module = PyRef();
            context->uninstallModule();
            context->loadError = error;
            qCWarning(PLUGINHOST_PLUGINS).noquote() << "loading" << metaData.id() << "failed:" << error.errorText();
            publishInterface(*m_shared, m_generation, {}, {});
            m_shared->settle(m_generation, Plugin::State::Failed, error);
            interpreter.stop();
            complete(error);
        } else {
            qCDebug(PLUGINHOST_PLUGINS) << "loaded" << metaData.id() << "in interpreter" << interpreter.id();
            QList<PluginExport> exports;
            for (const Module::ExportInfo &exported : Module::exports()) {
                exports.append(PluginExport{exported.name, exported.reentrant});
            }
            const QStringList subscriptions = Module::subscriptions();
            publishInterface(*m_shared, m_generation, exports, QSet<QString>(subscriptions.cbegin(), subscriptions.cend()));
            m_shared->settle(m_generation, Plugin::State::Loaded, PluginError());
            complete(CallResult());
        }
        return 0;
    }

    void discard(DiscardReason reason, const QString &detail) override
    {
        const PluginError error(reason == DiscardReason::InterpreterFailed ? PluginError::Kind::InterpreterFailed : PluginError::Kind::Unloaded,
                                m_shared->metaData.id(),
                                detail);
        m_shared->settle(m_generation, Plugin::State::Failed, error);
        complete(error);
    }

    QString description() const override
    {
        return QStringLiteral("the load (import and on_load())");
    }

private:
    void complete(const CallResult &result)
    {
        m_promise.addResult(result);
        m_promise.finish();
    }

    // A fresh start of a plugin that opted in (X-PluginHost-PersistState) gets what on_unload()
    // returned in an earlier run, unless this process has something newer. Either way the
    // saved copy is used up: a start after a crash finds none.
    void takePersistedState(PluginContext &context)
    {
        QVariant saved;
        bool found = false;
        PyThreadState *thread = PyEval_SaveThread(); // the database may make it wait
        const StorageError error = context.database->takeState(context.pluginId, &saved, &found);
        PyEval_RestoreThread(thread);
        if (error.isError()) {
            qCWarning(PLUGINHOST_PLUGINS).noquote() << "the saved state of" << context.pluginId << "could not be read:" << error.message();
        }
        if (found && !context.previousState.isValid()) {
            context.previousState = saved;
        }
    }

    void recordLoad(PluginContext &context, const PluginError &loadError)
    {
        // On the database's writer thread: opening a connection here, and closing it when this
        // thread ends (the WAL checkpoint), cost a loaded-and-unloaded plugin about a millisecond.
        const QString errorText = loadError.isError() ? loadError.errorText() : QString();
        context.database->recordLoadLater(context.pluginId, m_shared->metaData.version(), m_previousInstance.isValid(), errorText);
    }

    std::shared_ptr<PluginShared> m_shared;
    std::shared_ptr<PluginRegistry> m_registry;
    const quint64 m_generation;
    QFuture<CallResult> m_previousInstance;
    QPromise<CallResult> m_promise;
};

class UnloadJob : public Job
{
public:
    UnloadJob(std::shared_ptr<PluginShared> shared, std::shared_ptr<Retirement> retirement)
        : m_shared(std::move(shared))
        , m_retirement(std::move(retirement))
    {
    }

    int run(Interpreter &interpreter) override
    {
        parkIfAbandonedAtExit(); // a call that was stuck ahead of this job returned just now
        PluginContext *context = PluginContext::of(interpreter);
        if (context && context->module && m_retirement->enter(Retirement::Phase::OnUnload)) {
            runOnUnload(*context);
            parkIfAbandonedAtExit();
        }
        if (context) {
            context->uninstallModule();
            context->module = PyRef();
        }
        if (!m_retirement->isQuarantined()) {
            std::lock_guard lock(m_shared->mutex);
            if (!m_shared->interpreter) {
                // Unloaded for good; a reload keeps them until its new instance has loaded.
                m_shared->exports.clear();
                m_shared->subscriptions.clear();
            }
        }
        // Py_EndInterpreter() would wait for the plugin's own threads without limit.
        if (m_retirement->enter(Retirement::Phase::Threads)) {
            m_retirement->setThreadsLeft(m_retirement->endPluginThreads());
        }
        m_retirement->enter(Retirement::Phase::Ending);
        interpreter.stop();
        return 0;
    }

    void discard(DiscardReason, const QString &) override
    {
    }

    QString description() const override
    {
        return QStringLiteral("on_unload()");
    }

private:
    void runOnUnload(PluginContext &context)
    {
        QVariant state;
        const PluginError error = m_retirement->watchCalls([&] {
            return callHook(context, "on_unload", &state);
        });
        if (m_retirement->isQuarantined()) {
            qCInfo(PLUGINHOST_PLUGINS).noquote() << "on_unload() of" << context.pluginId << "returned after the plugin was quarantined; its result is dropped";
            return;
        }
        m_retirement->setResult(error.isError() ? CallResult(error) : CallResult(state));
        if (error.isError()) {
            qCWarning(PLUGINHOST_PLUGINS).noquote() << "on_unload() of" << context.pluginId << "failed:" << error.errorText();
            return;
        }
        {
            std::lock_guard lock(m_shared->mutex);
            m_shared->stateForNextLoad = state;
        }
        if (m_shared->metaData.persistsState() && context.database) {
            PyThreadState *thread = PyEval_SaveThread(); // the database may make it wait
            const StorageError saveError = context.database->saveState(context.pluginId, state);
            PyEval_RestoreThread(thread);
            if (saveError.isError()) {
                qCWarning(PLUGINHOST_PLUGINS).noquote() << "the state on_unload() of" << context.pluginId << "returned was not saved:" << saveError.message();
            }
        }
    }

    // The process is exiting and gave up on this interpreter: its thread must not run the
    // rest of the unload (Qt logging, Py_EndInterpreter()) under the process's teardown.
    void parkIfAbandonedAtExit()
    {
        if (m_retirement->isQuarantined() && RuntimeInternal::exiting()) {
            RuntimeInternal::parkForever(PyThreadState_Get());
        }
    }

    std::shared_ptr<PluginShared> m_shared;
    std::shared_ptr<Retirement> m_retirement;
};

} // namespace

std::unique_ptr<Job> makeLoadJob(std::shared_ptr<PluginShared> shared,
                                 std::shared_ptr<PluginRegistry> registry,
                                 quint64 generation,
                                 QFuture<CallResult> previousInstance,
                                 QPromise<CallResult> promise)
{
    return std::make_unique<LoadJob>(std::move(shared), std::move(registry), generation, std::move(previousInstance), std::move(promise));
}

bool isLoadJob(const Job &job)
{
    return dynamic_cast<const LoadJob *>(&job) != nullptr;
}

std::unique_ptr<Job> makeUnloadJob(std::shared_ptr<PluginShared> shared, std::shared_ptr<Retirement> retirement)
{
    return std::make_unique<UnloadJob>(std::move(shared), std::move(retirement));
}

} // namespace PluginHost
