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
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>

namespace PluginHost
{

namespace
{
/*
 * threading.current_thread() on the plugin's thread, which threading did not start, makes a
 * _DummyThread for it, and CPython 3.13 also a _DeleteDummyThreadOnDel in a thread-local,
 * whose __del__ removes the dummy from threading._active when the thread's state is cleared.
 * In Py_EndInterpreter() that happens after the modules were emptied: the __del__ finds
 * `_active_limbo_lock` None and prints "Exception ignored in: <function
 * _DeleteDummyThreadOnDel.__del__ ...>" (python/cpython#130522). Dropping it now runs that
 * __del__ while threading is whole. CPython versions without the helper have nothing to drop.
 */
void forgetDummyThread()
{
    PyRef name = PyRef::steal(PyUnicode_FromString("threading"));
    PyRef threading = name ? PyRef::steal(PyImport_GetModule(name.get())) : PyRef(); // never imports it
    PyRef local = threading ? PyRef::steal(PyObject_GetAttrString(threading.get(), "_thread_local_info")) : PyRef();
    if (local) {
        PyObject_DelAttrString(local.get(), "_track_dummy_thread_ref");
    }
    PyErr_Clear(); // AttributeError: no dummy Thread on this thread, or a CPython without the helper
}
} // namespace

PluginContext::PluginContext() = default;

PluginContext::~PluginContext()
{
    // Normally the unload job detached the module already; this covers an interpreter that
    // ends without one, so that nothing in it can reach the services once they are gone.
    uninstallModule();
    forgetDummyThread(); // dropped on the interpreter's thread just before it ends (Interpreter::setContext)
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

// Where `module` came from, for messages ("from ..."): its file, or CPython itself.
QString moduleOrigin(PyObject *module)
{
    PyRef file = PyRef::steal(PyModule_GetFilenameObject(module));
    PyRef spec = file ? PyRef() : PyRef::steal(PyObject_GetAttrString(module, "__spec__"));
    PyRef origin = spec && spec.get() != Py_None ? PyRef::steal(PyObject_GetAttrString(spec.get(), "origin")) : PyRef();
    PyErr_Clear();
    QString text;
    if (PyObject *found = file ? file.get() : origin.get(); found && PyUnicode_Check(found) && Values::toQString(found, &text)) {
        if (text == QLatin1String("built-in") || text == QLatin1String("frozen")) {
            return QStringLiteral("CPython itself (%1)").arg(text);
        }
        return text;
    }
    PyErr_Clear();
    return QStringLiteral("the interpreter itself (it has no file)");
}

// Whether `file` is a path in `directory`, as found on sys.path or with links resolved (a
// package linked into the plugin's folder is the plugin's own).
bool isInside(const QString &file, const QString &directory)
{
    const auto under = [](const QString &path, const QString &folder) {
        return !path.isEmpty() && !folder.isEmpty() && path.startsWith(folder + u'/');
    };
    return QDir::isAbsolutePath(file)
        && (under(QDir::cleanPath(file), QDir(directory).absolutePath()) || under(QFileInfo(file).canonicalFilePath(), QDir(directory).canonicalPath()));
}

/*
 * Imports the plugin's entry module, which must be the plugin's own file. A name the
 * interpreter imported before the plugin runs (sys, encodings, __main__) would hand back that
 * module, and one found elsewhere first (os, frozen into CPython; json.decoder when the
 * folder's json/ has no __init__.py) would run a module of the standard library instead: either
 * way the plugin's code never runs. Refused, saying where the module came from.
 */
PyRef importEntryModule(const PluginMetaData &metaData, PluginError *error)
{
    const QString entryPoint = metaData.entryPoint();
    const QString modulePath = QDir(metaData.directory()).filePath(QString(entryPoint).replace(u'.', u'/'));
    const QString ownFile = QFileInfo(modulePath + QLatin1String(".py")).isFile() ? modulePath + QLatin1String(".py") : modulePath + QLatin1String("/__init__.py");
    static const QRegularExpression notInIdentifiers(QStringLiteral("[^A-Za-z0-9_]"));
    const QString advice = QStringLiteral("rename the plugin's package to a name no other module has (for example %1) and set it as %2 in %3")
                               .arg(QString(metaData.id()).replace(notInIdentifiers, QStringLiteral("_")),
                                    QStringLiteral("X-PluginHost-EntryPoint"),
                                    metaData.metaDataFile());

    const QString package = entryPoint.section(u'.', 0, 0);
    PyRef packageName = PyRef::steal(Values::fromQString(package));
    PyRef imported = packageName ? PyRef::steal(PyImport_GetModule(packageName.get())) : PyRef();
    if (PyErr_Occurred()) {
        *error = takePythonError(PluginError::Kind::LoadFailed, metaData.id());
        return PyRef();
    }
    if (imported && imported.get() != Py_None) { // None: an extension blocked on purpose, whose import says why
        *error = PluginError(PluginError::Kind::LoadFailed,
                             metaData.id(),
                             QStringLiteral("the entry point \"%1\" names the module '%2', which the interpreter imported from %3 before the "
                                            "plugin runs, so the plugin's %4 would never run; %5")
                                 .arg(entryPoint, package, moduleOrigin(imported.get()), ownFile, advice));
        return PyRef();
    }

    PyRef module = PyRef::steal(PyImport_ImportModule(entryPoint.toUtf8().constData()));
    if (!module) {
        *error = takePythonError(PluginError::Kind::LoadFailed, metaData.id());
        explainSubinterpreterImport(*error, metaData);
        return PyRef();
    }
    const QString origin = moduleOrigin(module.get());
    if (!isInside(origin, metaData.directory())) {
        *error = PluginError(PluginError::Kind::LoadFailed,
                             metaData.id(),
                             QStringLiteral("the entry point \"%1\" was imported from %2, outside the plugin's folder %3: a module of that name "
                                            "comes first on the import path, so the plugin's %4 never ran; %5")
                                 .arg(entryPoint, origin, metaData.directory(), ownFile, advice));
        return PyRef();
    }
    return module;
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

// The load's deadline (PluginManager::setLoadTimeout()) and its one answer: whoever settles
// first, the load itself or the supervisor, reports; the other's result is dropped.
class LoadControl final : public JobControl
{
public:
    LoadControl(std::shared_ptr<PluginShared> shared,
                std::shared_ptr<PluginRegistry> registry,
                quint64 generation,
                bool reload,
                QPromise<CallResult> promise)
        : m_shared(std::move(shared))
        , m_registry(std::move(registry))
        , m_generation(generation)
        , m_reload(reload)
        , m_timeout(m_shared->loadTimeout)
        , m_promise(std::move(promise))
    {
    }

    // The load begins (after the instance it replaces has ended): its time starts now.
    void start()
    {
        if (m_timeout > std::chrono::milliseconds::zero()) {
            setDeadline(Clock::now() + m_timeout);
        }
    }

    bool isCancelRequested() const override
    {
        return false; // a load is ended by unload() or its deadline, not through its future
    }
    QString description() const override
    {
        return QStringLiteral("the load (import and on_load())");
    }
    int interrupt(Expiry, const QString &where) override
    {
        settleTimedOut(QStringLiteral("interrupted at %1").arg(where.isEmpty() ? QStringLiteral("an unknown place") : where));
        Module::raise(PluginError(PluginError::Kind::Cancelled,
                                  m_shared->metaData.id(),
                                  QStringLiteral("loading passed its deadline of %1").arg(describeDuration(m_timeout))));
        return -1;
    }
    void expire(Expiry, const QString &detail) override
    {
        settleTimedOut(detail);
    }

    /*
     * Records the outcome in the registry, sets the plugin's state and answers the load's
     * future. Only the first outcome counts: false when the deadline answered before the load
     * finished (the plugin failed then; `error()` says how).
     */
    bool settle(const CallResult &result)
    {
        {
            std::lock_guard lock(m_mutex);
            if (m_settled) {
                return false;
            }
            m_settled = true;
            m_error = result ? PluginError() : result.error();
        }
        if (const std::shared_ptr<ProfileDatabase> database = m_registry->database()) {
            // On the database's writer thread: a load never waits for the registry.
            database->recordLoadLater(m_shared->metaData.id(), m_shared->metaData.version(), m_reload, result ? QString() : result.error().errorText());
        }
        m_shared->settle(m_generation, result ? Plugin::State::Loaded : Plugin::State::Failed, result ? PluginError() : result.error());
        m_promise.addResult(result);
        m_promise.finish();
        return true;
    }

    PluginError error() const
    {
        std::lock_guard lock(m_mutex);
        return m_error;
    }

private:
    // The supervisor raises Cancelled again into a load that goes on: only the first one reports.
    void settleTimedOut(const QString &detail)
    {
        const PluginError error(PluginError::Kind::TimedOut,
                                m_shared->metaData.id(),
                                QStringLiteral("did not finish loading within %1; %2").arg(describeDuration(m_timeout), detail));
        if (settle(error)) {
            qCWarning(PLUGINHOST_PLUGINS).noquote() << "loading" << m_shared->metaData.id() << "failed:" << error.errorText();
        }
    }

    const std::shared_ptr<PluginShared> m_shared;
    const std::shared_ptr<PluginRegistry> m_registry;
    const quint64 m_generation;
    const bool m_reload;
    const std::chrono::milliseconds m_timeout;
    QPromise<CallResult> m_promise;
    mutable std::mutex m_mutex;
    bool m_settled = false;
    PluginError m_error;
};

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
        , m_control(std::make_shared<LoadControl>(m_shared, m_registry, generation, m_previousInstance.isValid(), std::move(promise)))
    {
    }

    const std::shared_ptr<JobControl> &control() const override
    {
        return m_control;
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
        load().start();
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
            context->module = importEntryModule(metaData, &error);
        }
        if (!error.isError()) {
            error = callHook(*context, "on_load", nullptr);
            if (error.isError()) {
                error.setKind(PluginError::Kind::LoadFailed);
            }
        }

        if (!error.isError()) {
            qCDebug(PLUGINHOST_PLUGINS) << "loaded" << metaData.id() << "in interpreter" << interpreter.id();
            QList<PluginExport> exports;
            for (const Module::ExportInfo &exported : Module::exports()) {
                exports.append(PluginExport{exported.name, exported.reentrant});
            }
            const QStringList subscriptions = Module::subscriptions();
            publishInterface(*m_shared, m_generation, exports, QSet<QString>(subscriptions.cbegin(), subscriptions.cend()));
            if (load().settle(CallResult())) {
                return 0;
            }
            // It finished after its deadline had failed it: this instance goes.
            publishInterface(*m_shared, m_generation, {}, {});
            error = load().error();
        } else if (load().settle(error)) {
            qCWarning(PLUGINHOST_PLUGINS).noquote() << "loading" << metaData.id() << "failed:" << error.errorText();
            publishInterface(*m_shared, m_generation, {}, {});
        } else {
            error = load().error(); // the deadline's, not the Cancelled it raised
        }
        context->module = PyRef();
        context->uninstallModule();
        context->loadError = error;
        interpreter.stop();
        return 0;
    }

    void discard(DiscardReason reason, const QString &detail) override
    {
        const PluginError error(reason == DiscardReason::InterpreterFailed ? PluginError::Kind::InterpreterFailed : PluginError::Kind::Unloaded,
                                m_shared->metaData.id(),
                                detail);
        load().settle(error);
    }

    QString description() const override
    {
        return QStringLiteral("the load (import and on_load())");
    }

private:
    LoadControl &load() const
    {
        return static_cast<LoadControl &>(*m_control);
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


    std::shared_ptr<PluginShared> m_shared;
    std::shared_ptr<PluginRegistry> m_registry;
    const quint64 m_generation;
    QFuture<CallResult> m_previousInstance;
    const std::shared_ptr<JobControl> m_control; // a LoadControl
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
