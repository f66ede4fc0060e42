#pragma once

#include "pluginerror.h"
#include "runtime/pythonshim.h"

namespace PluginHost
{

/*
 * Takes the Python exception currently set (clearing it) and describes it: type, message,
 * formatted traceback and the innermost file:line (for a SyntaxError, the offending line).
 * On the interpreter's thread with its GIL held.
 */
PluginError takePythonError(PluginError::Kind kind, const QString &pluginId);

} // namespace PluginHost
