#pragma once

#include "pluginerror.h"
#include "pluginhostcore_export.h"
#include "pluginmetadata.h"

#include <QDateTime>
#include <QFuture>
#include <QList>
#include <QObject>
#include <QStringList>
#include <QVariant>

#include <chrono>
#include <memory>

namespace PluginHost
{

class PluginManager;
class PluginPrivate;

/*!
 * A function a plugin exported with `@pluginhost.export`.
 * \since 0.1
 */
struct PluginExport {
    QString name; ///< what callers pass to Plugin::call() and `pluginhost.call()`
    bool reentrant = false; ///< may run while another call into the plugin is busy (`reentrant=True`)

    bool operator==(const PluginExport &other) const = default;
};

/*!
 * What the profile's registry remembers of a plugin across runs (Plugin::record()).
 * \since 0.2
 */
struct PluginRecord {
    QString lastVersion; ///< the version last loaded or tried; empty when never loaded with this profile
    QString lastResult; ///< "loaded", "failed", or empty
    QDateTime lastLoadTime; ///< UTC; invalid when never loaded
    qint64 loads = 0; ///< fresh loads tried (load(), loadAll())
    qint64 reloads = 0; ///< reloads tried
    QString lastError; ///< errorText() of the last failed load; empty after a successful one
};

/*!
 * \class PluginHost::Plugin
 * \brief One Python plugin: its metadata, its state, and calls into it.
 *
 * A loaded plugin runs in a subinterpreter of its own, on a thread of its own, with its
 * own GIL (or the shared one, for `"X-PluginHost-Isolation": "shared"`). Everything here
 * may be called from any thread; signals are emitted on the thread the Plugin lives in
 * (the PluginManager's).
 *
 * Calls never block the caller:
 * \code
 * plugin->call(QStringLiteral("greet"), {QStringLiteral("Ada")})
 *     .then(this, [this](const QVariant &greeting) { showGreeting(greeting.toString()); })
 *     .onFailed(this, [](const PluginHost::CallError &failure) { qWarning() << failure.error().errorText(); });
 * \endcode
 *
 * Calls are delivered in the order they were made. A call made while the plugin is
 * loading or reloading waits for it; a call to an unloaded plugin fails with
 * PluginError::Kind::Unloaded; unloading fails the calls still queued with the same kind.
 *
 * \since 0.1
 */
class PLUGINHOSTCORE_EXPORT Plugin : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString id READ id CONSTANT)
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
public:
    enum class State {
        Unloaded,
        Loading, ///< interpreter starting, entry module importing, on_load() running
        Loaded,
        Unloading,
        Failed, ///< the last load failed; lastError() says why
    };
    Q_ENUM(State)

    enum class Gil {
        Own, ///< a per-interpreter GIL: runs in parallel with every other plugin
        Shared, ///< the main interpreter's GIL, shared with other "shared" plugins
    };
    Q_ENUM(Gil)

    ~Plugin() override;

    PluginMetaData metaData() const;
    QString id() const;
    State state() const;
    /// The error of the last failed load, unload or reload; no error otherwise.
    PluginError lastError() const;
    /// CPython's id of the plugin's interpreter, or -1 when not loaded.
    qint64 interpreterId() const;
    /// The GIL the plugin's interpreter really has (only meaningful while loaded).
    Gil gil() const;

    /*!
     * Whether PluginManager::loadAll() loads the plugin. Kept in the profile's registry (see
     * PluginManager::setProfileDirectory()); `KPlugin.EnabledByDefault` until set. load()
     * works regardless.
     */
    bool isEnabled() const;
    /*!
     * Enables or disables the plugin for loadAll() in this and later runs; a loaded plugin
     * stays loaded. Returns an error (Kind::StorageFailed) when the registry could not be
     * written: the choice then holds for this manager only.
     * \since 0.2
     */
    PluginError setEnabled(bool enabled);
    /// The registry's record of this plugin: its last load, how often it loaded. \since 0.2
    PluginRecord record() const;

    /// Starts the plugin in a fresh interpreter. The future carries an error when it failed.
    /// While a load is under way, calling load() again returns that same future: with Qt 6.4 a
    /// future runs a single continuation, so observe a shared one with a QFutureWatcher.
    QFuture<CallResult> load();
    /// Calls on_unload(), ends the interpreter. Queued calls fail with Kind::Unloaded.
    /// The future's value is what on_unload() returned; the next load() receives it.
    QFuture<CallResult> unload();
    /// Unload and load into a fresh interpreter (never importlib.reload). State from
    /// on_unload() is handed over; calls queued meanwhile go to the new instance.
    QFuture<CallResult> reload();

    /*!
     * Calls `function` of the plugin with `arguments` (copied into Python values). The future
     * fails with a CallError when Python raised, the function does not exist, a value cannot
     * cross, or the plugin is not loaded.
     *
     * A plugin that exports functions with `@pluginhost.export` can be called only through
     * them (a name it did not export fails with PluginError::Kind::NotFound, listing the
     * exports), and its re-entrant exports run even while another call is busy in it. A plugin
     * that exports nothing can be called through any public function of its entry module,
     * as before the `pluginhost` module existed.
     */
    QFuture<QVariant> call(const QString &function, const QVariantList &arguments = {});

    /// Blocking variant for worker threads: waits up to `timeout`. Refused (with an error) on the
    /// GUI thread of a QGuiApplication, which must never wait for a plugin.
    CallResult callBlocking(const QString &function, const QVariantList &arguments = {}, std::chrono::milliseconds timeout = std::chrono::seconds(30));

    /*!
     * What the loaded plugin exported with `@pluginhost.export`, in the order it did; empty
     * while not loaded, and for a plugin that exports nothing (see call()). Updated once
     * each load finished.
     */
    QList<PluginExport> exports() const;

    /// Events the loaded plugin subscribed to with `@pluginhost.on`, sorted.
    QStringList subscriptions() const;

    /*!
     * Describes each export, in the plugin's interpreter, for documentation and inspectors:
     * a list of maps with `"name"`, `"signature"` (`str(inspect.signature(f))`, e.g.
     * `"(name, greeting='Hello')"`, empty when Python cannot tell), `"doc"`
     * (`inspect.getdoc(f)`, or empty) and `"reentrant"`. Runs as an ordinary call: after the
     * calls queued before it. Fails with a CallError like call() when the plugin is not loaded.
     */
    QFuture<QVariantList> describeExports();

Q_SIGNALS:
    void stateChanged(PluginHost::Plugin::State state);

private:
    friend class PluginManager;
    explicit Plugin(const PluginMetaData &metaData, QObject *parent);
    std::unique_ptr<PluginPrivate> const d;
};

} // namespace PluginHost
