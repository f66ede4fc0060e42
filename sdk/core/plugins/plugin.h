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
 * How one call into a plugin is made (Plugin::call(), Plugin::callBlocking()).
 * \since 0.2
 */
struct CallOptions {
    /*!
     * A deadline, counted from the moment of the call; zero means none. A call still queued
     * when it passes is dropped; a call running Python gets `pluginhost.Cancelled` raised at its
     * next bytecode boundary, within a few milliseconds. Either way the future fails at once
     * with PluginError::Kind::TimedOut, naming the plugin, the function, the deadline and the
     * file:line the call was interrupted at. A call blocked in C (time.sleep(), a socket) cannot
     * be interrupted: its future still fails shortly after the deadline, saying where the
     * plugin was last seen running Python, and whatever it returns later is dropped.
     */
    std::chrono::milliseconds timeout{0};
};

/*!
 * What the supervisor knows of the code running in a plugin (Plugin::activity()).
 * \since 0.2
 */
struct PluginActivity {
    /// When the running call (or load, unload, event handler) started, once it has run longer
    /// than Plugin::busyBudget(); invalid otherwise.
    QDateTime busySince;
    /// When the plugin stopped answering interrupts: its thread is inside C code (a sleep, a
    /// socket, a lock) that no bytecode boundary interrupts. Invalid otherwise.
    QDateTime blockedSince;
    /// What the busy plugin is running: the function name for a call, else a short description.
    QString task;

    bool isBusy() const
    {
        return busySince.isValid();
    }
    bool isBlocked() const
    {
        return blockedSince.isValid();
    }
    bool operator==(const PluginActivity &other) const = default;
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

    /*!
     * call() with options: a deadline (see CallOptions::timeout).
     *
     * `QFuture::cancel()` on the returned future cancels the call: a call still queued is
     * dropped, a running one gets `pluginhost.Cancelled` raised at its next bytecode boundary,
     * and the future ends at once as cancelled (isCanceled(), no exception).
     *
     * A plugin's mailbox holds at most mailboxCapacity() (default 10,000) calls
     * and events; a call to a full mailbox fails at once with PluginError::Kind::Overloaded.
     * \since 0.2
     */
    QFuture<QVariant> call(const QString &function, const QVariantList &arguments, const CallOptions &options);

    /*!
     * Blocking variant for worker threads. `timeout` is a real deadline (CallOptions::timeout):
     * past it the call is dropped or interrupted and TimedOut is returned; a full mailbox is
     * waited on until the deadline. Refused (with an error) on the GUI thread of a
     * QGuiApplication, which must never wait for a plugin.
     */
    CallResult callBlocking(const QString &function, const QVariantList &arguments = {}, std::chrono::milliseconds timeout = std::chrono::seconds(30));

    /*!
     * What the plugin is busy with: whether its current job has run longer than busyBudget(),
     * and whether it is blocked in C. activityChanged() says when this changes. The supervisor
     * looks every few milliseconds, so the times are that precise.
     * \since 0.2
     */
    PluginActivity activity() const;
    /// Shorthands for activity().busySince and activity().blockedSince. \since 0.2
    QDateTime busySince() const;
    QDateTime blockedSince() const;

    /*!
     * How long one call, event handler, load or unload may run before the plugin counts as busy
     * (activity()). Default one second; applies from the next load on.
     * \since 0.2
     */
    void setBusyBudget(std::chrono::milliseconds budget);
    std::chrono::milliseconds busyBudget() const;

    /*!
     * How many calls and events may wait in the plugin's mailbox (default 10,000); a call past
     * that fails with PluginError::Kind::Overloaded. Applies from the next load on.
     * \since 0.2
     */
    void setMailboxCapacity(int capacity);
    int mailboxCapacity() const;

    /*!
     * The Python stack of the code the plugin is running, formatted like a traceback (innermost
     * last), taken at its next bytecode boundary. "idle" when nothing runs. When the plugin is
     * blocked in C and cannot answer within `wait`, the text says "blocked in C at …" with the
     * innermost frame the supervisor last saw it run (it samples busy plugins about every
     * 100 ms) and how long ago. Fails with a CallError when the plugin is not loaded.
     * \since 0.2
     */
    QFuture<QString> stackSnapshot(std::chrono::milliseconds wait = std::chrono::milliseconds(250));

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
    /// activity() changed: the plugin became busy or blocked, or stopped being so. \since 0.2
    void activityChanged(const PluginHost::PluginActivity &activity);

private:
    friend class PluginManager;
    explicit Plugin(const PluginMetaData &metaData, QObject *parent);
    std::unique_ptr<PluginPrivate> const d;
};

} // namespace PluginHost

Q_DECLARE_METATYPE(PluginHost::PluginActivity)
