// The built-in `pluginhost` module, seen from C++. Everything here runs on the plugin's
// interpreter thread with its GIL held, unless it says otherwise.
#pragma once

#include "hostservices.h"
#include "pluginhostcore_export.h"
#include "runtime/pythonshim.h"

#include <QString>
#include <QStringList>
#include <QVariant>

namespace PluginHost::Module
{

/// Adds `pluginhost` to the built-in modules. Before the runtime starts; any thread.
PLUGINHOSTCORE_EXPORT void registerBuiltin();

/*
 * Makes `services` the host of the calling interpreter, imports `pluginhost` into it and
 * routes sys.stdout and sys.stderr to the plugin's log, line by line. Returns false with
 * a Python exception set on failure. `services` must stay alive until uninstall().
 */
PLUGINHOSTCORE_EXPORT bool install(HostServices *services);

/// Flushes the captured streams and detaches the services: from now on the module's
/// functions raise PluginError("… is unloading") instead of reaching the host.
PLUGINHOSTCORE_EXPORT void uninstall();

struct ExportInfo {
    QString name;
    bool reentrant = false;
};

/// What the plugin exported with @pluginhost.export, in the order it did.
PLUGINHOSTCORE_EXPORT QList<ExportInfo> exports();

/// A new reference to the exported callable, or nullptr (no exception set) when there is none.
PLUGINHOSTCORE_EXPORT PyObject *findExport(const QString &name);

/*
 * The interpreter's pluginhost module (a new reference), or nullptr before install(). Keep it
 * for findExport(module, name): finding the module costs more than a trivial call.
 */
PLUGINHOSTCORE_EXPORT PyObject *installedModule();

/// As findExport(name), for `name` as a str and `module` from installedModule().
PLUGINHOSTCORE_EXPORT PyObject *findExport(PyObject *module, PyObject *name);

/// Events the plugin subscribed to with @pluginhost.on.
PLUGINHOSTCORE_EXPORT QStringList subscriptions();

/*
 * Calls every handler of `event` with a pluginhost.Event(name, payload, sender), in the order
 * they subscribed. A handler that raises is logged with its traceback and the others still run.
 * Returns how many handlers ran.
 */
PLUGINHOSTCORE_EXPORT int deliverEvent(const QString &event, const QVariant &payload, const QString &sender);
/// The same for `module` (installedModule()), with the event's name and the sender as str
/// objects the caller keeps from one delivery to the next.
PLUGINHOSTCORE_EXPORT int deliverEvent(PyObject *module, const QString &event, PyObject *eventName, const QVariant &payload, PyObject *sender);

/// Whether `exception` is a pluginhost.Cancelled (of the calling interpreter's module).
PLUGINHOSTCORE_EXPORT bool isCancelled(PyObject *exception);

/// Raises the module's PluginError (Kind::Cancelled: its Cancelled) carrying `error`'s text.
/// Returns nullptr, for `return raise(…)`.
PLUGINHOSTCORE_EXPORT PyObject *raise(const PluginError &error);

} // namespace PluginHost::Module
