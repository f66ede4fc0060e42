// The permission hook: an audit hook (PEP 578) in each plugin's interpreter that enforces the
// plugin's X-PluginHost-Permissions. Which audit event needs which permission is the table at
// the top of audithook.cpp; the README's permission matrix says the same for plugin authors.
#pragma once

#include "hostservices.h"
#include "runtime/pythonshim.h"

namespace PluginHost::Module
{

/*
 * Adds the permission hook of `services`' plugin to the calling interpreter with
 * sys.addaudithook(): from then on it sees every audit event raised on any thread of that
 * interpreter until the interpreter ends, and nothing the plugin does removes it. A denied event
 * raises `permissionDenied` and is logged as a warning in the plugin's category. Call once
 * sys.path is set and before any plugin code runs. Adds nothing when services.permissionPolicy()
 * enforces nothing. Returns false with a Python exception set on failure.
 */
bool installAuditHook(HostServices &services, PyObject *permissionDenied);

/*
 * While one exists on a thread, the permission hook lets that thread's events through: for the
 * host's own calls of audited C API functions (PyEval_SetProfile) in a plugin's interpreter.
 * Keep it around those calls only, never around plugin code.
 */
class HostActionScope
{
public:
    HostActionScope();
    ~HostActionScope();
    HostActionScope(const HostActionScope &) = delete;
    HostActionScope &operator=(const HostActionScope &) = delete;

private:
    const bool m_outer;
};

} // namespace PluginHost::Module
