#include "pythonshim.h" // Python.h comes before any Qt header

#include "runtime.h"
#include "runtime_p.h"

#include "pluginhost_runtime_debug.h"

#include <QDir>
#include <QFileInfo>

#ifdef Q_OS_UNIX
#include <signal.h>
#endif

#include <atomic>
#include <condition_variable>
#include <thread>
#include <vector>

namespace PluginHost
{

namespace
{
struct BuiltinModule {
    const char *name;
    PyObject *(*initialize)();
};
} // namespace

class Runtime::Private
{
public:
    void run();

    Options options;
    std::vector<BuiltinModule> builtinModules;
    QStringList basePath;
    QString startError;

    // The main interpreter lives on this thread: it initializes CPython, releases the
    // GIL and, at shutdown, takes it back to finalize. No plugin code ever runs there.
    std::thread mainThread;
    std::mutex mutex;
    std::condition_variable changed;
    bool started = false;
    bool stopRequested = false;
};

namespace
{
std::mutex s_instanceMutex;
std::unique_ptr<Runtime> s_instance;
Runtime::Options s_options;
bool s_failed = false;
std::atomic<int> s_liveInterpreters{0};
std::atomic<bool> s_exiting{false};

struct AbandonedInterpreter {
    const void *token;
    QString description; // "org.example.stuck (on_unload() did not return within 5 s)"
};

// Never destroyed: a thread of an abandoned interpreter may return while the process exits.
std::mutex &abandonedMutex()
{
    static auto *mutex = new std::mutex;
    return *mutex;
}
std::vector<AbandonedInterpreter> &abandoned() // guarded by abandonedMutex()
{
    static auto *list = new std::vector<AbandonedInterpreter>;
    return *list;
}
// Filled by static initializers of other files: a function-local static is built on first use.
std::vector<BuiltinModule> &builtinModules() // guarded by s_instanceMutex
{
    static std::vector<BuiltinModule> modules;
    return modules;
}

// The `python` program ignores SIGPIPE, so that writing to a pipe or socket nobody reads any
// more raises BrokenPipeError instead of killing the process. CPython does that only along with
// installing its signal handlers, which the runtime leaves to the application; so it is done
// here, unless the application chose something for SIGPIPE itself.
void ignoreBrokenPipeSignal()
{
#ifdef Q_OS_UNIX
    struct sigaction current = {};
    if (sigaction(SIGPIPE, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) {
        return;
    }
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
#endif
}

// The interpreter program of the CPython installation at `home` (what sys.executable names),
// or an empty string when it has none.
QString interpreterProgram(const QString &home)
{
    const QDir prefix(home);
#ifdef Q_OS_WIN
    const QStringList candidates = {QStringLiteral("python.exe")};
#else
    const QStringList candidates = {QStringLiteral("bin/python%1.%2").arg(PY_MAJOR_VERSION).arg(PY_MINOR_VERSION), QStringLiteral("bin/python3")};
#endif
    for (const QString &candidate : candidates) {
        const QFileInfo program(prefix.filePath(candidate));
        if (program.isFile() && program.isExecutable()) {
            return program.absoluteFilePath();
        }
    }
    return QString();
}

// Finalizes CPython when the process ends without an explicit shutdown().
struct ExitGuard {
    ~ExitGuard()
    {
        if (!RuntimeInternal::abandonedInterpreters().isEmpty()) {
            s_exiting = true; // their threads park if they return from here on (parkForever())
        }
        Runtime::shutdown();
    }
} s_exitGuard;
} // namespace

void Runtime::Private::run()
{
    PyStatus status = PyStatus_Ok();
    if (options.systemAllocator) {
        // Only a pre-initialization chooses the allocator. The rest of it is what
        // Py_InitializeFromConfig() would derive from the isolated config below.
        PyPreConfig preConfig;
        PyPreConfig_InitIsolatedConfig(&preConfig);
        preConfig.use_environment = options.useEnvironment ? 1 : 0;
        preConfig.allocator = PYMEM_ALLOCATOR_MALLOC;
        status = Py_PreInitialize(&preConfig);
    }

    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.use_environment = options.useEnvironment ? 1 : 0;
    config.site_import = options.importSite ? 1 : 0;
    config.user_site_directory = 0;
    config.install_signal_handlers = 0;
    config.parse_argv = 0;

    const QString home = options.pythonHome.isEmpty() ? QStringLiteral(PLUGINHOST_PYTHON_HOME) : options.pythonHome;
    if (!PyStatus_Exception(status)) {
        status = PyConfig_SetString(&config, &config.home, home.toStdWString().c_str());
    }
    const QString executable = options.pythonExecutable.isEmpty() ? interpreterProgram(home) : options.pythonExecutable;
    if (executable.isEmpty()) {
        qCDebug(PLUGINHOST_RUNTIME) << "no Python program under" << home << "- sys.executable stays empty (Runtime::Options::pythonExecutable sets it)";
    } else if (!PyStatus_Exception(status)) {
        status = PyConfig_SetString(&config, &config.executable, executable.toStdWString().c_str());
    }
    if (!PyStatus_Exception(status)) {
        status = PyConfig_SetString(&config, &config.program_name, L"pluginhost");
    }
    for (const BuiltinModule &module : builtinModules) {
        if (PyImport_AppendInittab(module.name, module.initialize) < 0) {
            status = PyStatus_Error("could not register a built-in module");
        }
    }
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);

    if (PyStatus_Exception(status)) {
        std::lock_guard lock(mutex);
        startError = QStringLiteral("CPython did not start (home %1): %2%3")
                         .arg(home, QString::fromUtf8(status.func ? status.func : ""), QString::fromUtf8(status.err_msg ? status.err_msg : "unknown error"));
        started = true;
        changed.notify_all();
        return;
    }

    QStringList path;
    if (PyObject *sysPath = PySys_GetObject("path"); sysPath && PyList_Check(sysPath)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(sysPath); ++i) {
            if (const char *entry = PyUnicode_AsUTF8(PyList_GET_ITEM(sysPath, i))) {
                path.append(QString::fromUtf8(entry));
            }
        }
    }
    PyErr_Clear();
    for (const QString &extra : std::as_const(options.extraPaths)) {
        path.append(QDir(extra).absolutePath());
    }

    PyThreadState *mainThreadState = PyEval_SaveThread();
    {
        std::unique_lock lock(mutex);
        basePath = path;
        started = true;
        changed.notify_all();
        changed.wait(lock, [this] {
            return stopRequested;
        });
    }
    PyEval_RestoreThread(mainThreadState);
    if (Shim::finalizingAbortsAfterSubinterpreters) {
        qCDebug(PLUGINHOST_RUNTIME) << "not finalizing CPython" << PY_VERSION << "(it would abort: python/cpython#119213, fixed in 3.12.4)";
        return;
    }
    if (Py_FinalizeEx() != 0) {
        qCWarning(PLUGINHOST_RUNTIME) << "CPython reported an error while finalizing";
    }
}

Runtime::Runtime()
    : d(new Private)
{
}

Runtime::~Runtime() = default;

bool Runtime::configure(const Options &options)
{
    std::lock_guard lock(s_instanceMutex);
    if (s_instance || s_failed) {
        return false;
    }
    s_options = options;
    return true;
}

Runtime *Runtime::instance()
{
    std::lock_guard lock(s_instanceMutex);
    if (s_instance) {
        return s_instance.get();
    }
    if (s_failed) {
        return nullptr;
    }

    ignoreBrokenPipeSignal();
    std::unique_ptr<Runtime> runtime(new Runtime);
    Private *d = runtime->d.get();
    d->options = s_options;
    d->builtinModules = builtinModules();
    d->mainThread = std::thread([d] {
        d->run();
    });
    {
        std::unique_lock startLock(d->mutex);
        d->changed.wait(startLock, [d] {
            return d->started;
        });
    }
    if (!d->startError.isEmpty()) {
        qCCritical(PLUGINHOST_RUNTIME).noquote() << d->startError;
        d->mainThread.join();
        s_failed = true;
        return nullptr;
    }
    qCDebug(PLUGINHOST_RUNTIME) << "CPython" << pythonVersion() << "started; sys.path" << d->basePath;
    s_instance = std::move(runtime);
    return s_instance.get();
}

bool Runtime::shutdown()
{
    std::lock_guard lock(s_instanceMutex);
    if (!s_instance) {
        return true;
    }
    Private *d = s_instance->d.get();
    // An unload's future finishes after its interpreter counted itself gone, so only abandoned
    // interpreters and those of plugins nobody unloaded are left here. Neither is waited for.
    const QStringList stuck = RuntimeInternal::abandonedInterpreters();
    if (const int live = s_liveInterpreters.load(); live > 0) {
        if (stuck.isEmpty()) {
            qCWarning(PLUGINHOST_RUNTIME) << "not finalizing CPython:" << live << "interpreter(s) still running";
        } else {
            qCWarning(PLUGINHOST_RUNTIME).noquote() << "not finalizing CPython:" << live << "interpreter(s) still running, of them"
                                                    << stuck.size() << "quarantined and stuck:" << stuck.join(QLatin1String("; "));
        }
        // Their threads still use CPython: leave the runtime (and its thread) alive until exit.
        // Py_FinalizeEx() would wait for them, or tear CPython down under them.
        d->mainThread.detach();
        (void)s_instance.release();
        s_failed = true;
        return false;
    }
    {
        std::lock_guard stateLock(d->mutex);
        d->stopRequested = true;
        d->changed.notify_all();
    }
    d->mainThread.join();
    s_instance.reset();
    s_failed = true; // CPython cannot be initialized twice safely in one process
    return true;
}

QString Runtime::pythonVersion()
{
    const QString full = QString::fromUtf8(Py_GetVersion());
    return full.section(QLatin1Char(' '), 0, 0);
}

QString Runtime::compiledPythonVersion()
{
    return QStringLiteral("%1.%2").arg(PY_MAJOR_VERSION).arg(PY_MINOR_VERSION);
}

QStringList Runtime::basePath() const
{
    return d->basePath;
}

const Runtime::Options &Runtime::options() const
{
    return d->options;
}

namespace RuntimeInternal
{
std::mutex &creationMutex()
{
    static std::mutex mutex;
    return mutex;
}

bool addBuiltinModule(const char *name, PyObject *(*initialize)())
{
    std::lock_guard lock(s_instanceMutex);
    if (s_instance || s_failed) {
        return false;
    }
    for (const BuiltinModule &module : builtinModules()) {
        if (qstrcmp(module.name, name) == 0) {
            return true;
        }
    }
    builtinModules().push_back({name, initialize});
    return true;
}

void interpreterStarted()
{
    ++s_liveInterpreters;
}

void interpreterFinished()
{
    --s_liveInterpreters;
}

void interpreterAbandoned(const void *token, const QString &name, const QString &reason)
{
    std::lock_guard lock(abandonedMutex());
    abandoned().push_back({token, QStringLiteral("%1 (%2)").arg(name, reason)});
}

void abandonedInterpreterEnded(const void *token)
{
    std::lock_guard lock(abandonedMutex());
    std::erase_if(abandoned(), [token](const AbandonedInterpreter &entry) {
        return entry.token == token;
    });
}

QStringList abandonedInterpreters()
{
    QStringList descriptions;
    std::lock_guard lock(abandonedMutex());
    for (const AbandonedInterpreter &entry : abandoned()) {
        descriptions.append(entry.description);
    }
    return descriptions;
}

bool exiting()
{
    return s_exiting;
}

void parkForever(PyThreadState *threadState)
{
    if (threadState) {
        PyEval_SaveThread();
    }
    for (;;) {
        std::this_thread::sleep_for(std::chrono::hours(24));
    }
}
} // namespace RuntimeInternal

} // namespace PluginHost
