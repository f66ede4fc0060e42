#pragma once

#include "pluginerror.h"
#include "runtime/pythonshim.h"

namespace PluginHost
{

/*
 * Takes the Python exception currently set (clearing it) and describes it: type, message,
 * formatted traceback and the innermost file:line (for a SyntaxError, the offending line).
 * On the interpreter's thread with its GIL held.
 *
 * A plugin decides how long its exception's text is, so every part is bounded: the message
 * to MessageLimit characters, the traceback to TracebackLimit, names and file names to
 * NameLimit. What is longer keeps its beginning and its end, with a marker between them
 * saying how much was cut ("… [49,934,464 characters cut] …"). The traceback is formatted
 * one frame at a time, so that a huge message is never held more than once.
 */
PluginError takePythonError(PluginError::Kind kind, const QString &pluginId);

namespace PythonErrorLimits
{
constexpr qsizetype MessageLimit = 64 * 1024;
constexpr qsizetype TracebackLimit = 256 * 1024;
constexpr qsizetype NameLimit = 4096;
}

} // namespace PluginHost
