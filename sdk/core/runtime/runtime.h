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
        /// Honour PYTHONPATH, PYTHONHOME and the other PYTHON* environment variables.
        bool useEnvironment = false;
        /// Import `site` (adds site-packages to sys.path; costs ~5 ms per interpreter).
        bool importSite = false;
        /// Appended to every interpreter's sys.path after the standard library.
        QStringList extraPaths;
    };

    /// Sets the options used when the runtime starts. Returns false if it already started.
    static bool configure(const Options &options);

    /// Starts the runtime if needed. Returns nullptr, and logs why, when CPython could not start.
    static Runtime *instance();

    /// Finalizes CPython once no interpreter is alive. Returns false (and leaves CPython
    /// running) when some interpreter never finished; they are named in the log.
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
