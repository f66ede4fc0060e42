#pragma once

#include "pluginerror.h"
#include "runtime/interpreter.h"
#include "runtime/pyref.h"

#include <QHash>
#include <QVariant>

#include <memory>

namespace PluginHost
{

class PluginServices;
class ProfileDatabase;

// Per interpreter, on its thread: the plugin's Python objects and the host services its
// `pluginhost` module reaches. Dropped on that thread with the GIL held (Interpreter::setContext).
class PluginContext : public InterpreterContext
{
public:
    PluginContext();
    ~PluginContext() override;

    // Detaches the `pluginhost` module from the services, once; they must outlive it.
    void uninstallModule();

    // `name` as a str, made once per name called (borrowed; nullptr with an exception set
    // when it cannot be made). Calls by name would otherwise make a str every time.
    PyObject *nameObject(const QString &name);

    QString pluginId;
    PyRef module;
    PluginError loadError;
    QVariant previousState; // what on_unload() of the previous instance returned
    std::unique_ptr<PluginServices> services;
    std::shared_ptr<ProfileDatabase> database; // registry and persisted state
    bool moduleInstalled = false;
    PyRef pluginhostModule; // while installed, for Module::findExport(module, name)
    QHash<QString, PyRef> names; // of nameObject()

    static PluginContext *of(Interpreter &interpreter)
    {
        return static_cast<PluginContext *>(interpreter.context());
    }
};

} // namespace PluginHost
