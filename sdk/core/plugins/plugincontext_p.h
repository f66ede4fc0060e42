#pragma once

#include "pluginerror.h"
#include "runtime/interpreter.h"
#include "runtime/pyref.h"

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

    QString pluginId;
    PyRef module;
    PluginError loadError;
    QVariant previousState; // what on_unload() of the previous instance returned
    std::unique_ptr<PluginServices> services;
    std::shared_ptr<ProfileDatabase> database; // registry and persisted state
    bool moduleInstalled = false;

    static PluginContext *of(Interpreter &interpreter)
    {
        return static_cast<PluginContext *>(interpreter.context());
    }
};

} // namespace PluginHost
