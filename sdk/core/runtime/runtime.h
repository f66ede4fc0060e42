#pragma once

#include "pluginhostcore_export.h"

#include <QString>
#include <QStringList>

#include <memory>

namespace PluginHost
{

/*!
 * \class PluginHost::Runtime
 * \brief The embedded CPython runtime: one per process.
 *
 * The runtime initializes CPython once, isolated from the user's environment
 * (no user site directory, `PYTHON*` variables ignored, `site` not imported,
 * explicit `sys.path`), and keeps the main interpreter on a thread of its own
 * that never runs plugin code. Plugins run in subinterpreters (see Interpreter).
 *
 * Starting the runtime ignores SIGPIPE (on Unix), as the `python` program does, so that a
 * plugin writing to a pipe or socket whose reader went away gets BrokenPipeError instead of
 * the whole process being killed. It does so only when the application left SIGPIPE at its
 * default disposition: a handler or an explicit choice of the application stays as it is.
 * An ignored signal stays ignored across exec(), so the application's own child processes
 * inherit it unless they reset it (Python's subprocess resets it in the children it starts).
 *
 * Most applications never touch this class: PluginManager starts the runtime on
 * first use. Call configure() before that to change the defaults, and shutdown()
 * at the end of main() when the application wants CPython finalized at a known
 * point (otherwise it happens at process exit).
 *
 * \code
 * PluginHost::Runtime::Options options;
 * options.useEnvironment = true; // honour PYTHONPATH and friends
 * PluginHost::Runtime::configure(options);
 * \endcode
 *
 * \since 0.1
 */
class PLUGINHOSTCORE_EXPORT Runtime
{
public:
    struct Options {
        /// Prefix of the CPython installation; empty means the one PluginHost was built against.
        QString pythonHome;
        /*!
         * What plugins see as `sys.executable`: the Python program that `subprocess`,
         * `multiprocessing`'s spawn method, `concurrent.futures.ProcessPoolExecutor` and `venv`
         * start. Empty means the interpreter of pythonHome's installation (`bin/python3.X`,
         * else `bin/python3`; `python.exe` on Windows); when there is none, `sys.executable` is
         * empty. Set it when the application ships its own Python program.
         */
        QString pythonExecutable;
        /// Honour PYTHONPATH, PYTHONHOME and the other PYTHON* environment variables.
        bool useEnvironment = false;
        /// Import `site` (adds site-packages to sys.path; costs ~5 ms per interpreter).
        bool importSite = false;
        /// Appended to every interpreter's sys.path after the standard library.
        QStringList extraPaths;
        /*!
         * Allocate Python objects with the C library's malloc() instead of CPython's pymalloc
         * (`PYMEM_ALLOCATOR_MALLOC`, what `PYTHONMALLOC=malloc` selects). The trade-off:
         * - memory: CPython 3.12 and 3.13 keep about 1.2-1.4 MiB of every ended isolated
         *   interpreter under pymalloc (immortal interned strings pin its arenas), so every
         *   reload or unload of a plugin leaves that much behind; with malloc() about 140 KiB.
         * - speed: small objects cost more to allocate and free. Code that builds many small
         *   dicts, lists and strs runs about a third slower; arithmetic loops barely change
         *   (pluginhost-bench's `python_work_ms` and `parallel_speedup`, run with and without
         *   `--system-allocator`).
         * Worth it for hosts that reload or unload plugins often, or run for long; the default
         * keeps pymalloc. Applies to the main interpreter and every plugin.
         */
        bool systemAllocator = false;
    };

    /// Sets the options used when the runtime starts. Returns false if it already started.
    static bool configure(const Options &options);

    /// Starts the runtime if needed. Returns nullptr, and logs why, when CPython could not start.
    static Runtime *instance();

    /*!
     * Finalizes CPython once no interpreter is alive. Returns false, and leaves CPython running until the process exits,
     * when some interpreter never finished: plugins nobody unloaded, or plugins quarantined
     * because they did not unload in time (see PluginManager::quarantinedPlugins()); the
     * warning names the quarantined ones. Never blocks on a stuck interpreter, and never
     * finalizes CPython under one: the process can always exit.
     */
    static bool shutdown();

    /// "3.13.0": the CPython version actually running.
    static QString pythonVersion();

    /// The CPython PluginHost was compiled against, e.g. "3.13".
    static QString compiledPythonVersion();

    /// sys.path entries every interpreter starts with (the standard library and extraPaths).
    QStringList basePath() const;

    const Options &options() const;

    ~Runtime();

private:
    Runtime();
    class Private;
    std::unique_ptr<Private> const d;
    friend class InterpreterPrivate;
};

} // namespace PluginHost
