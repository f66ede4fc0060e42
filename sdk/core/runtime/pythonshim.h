// The one place that knows how CPython versions differ. Everything version-specific
// that PluginHost needs is declared here and selected at compile time.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000
#error "PluginHost needs CPython 3.12 or newer: the per-interpreter GIL (PEP 684) arrived in 3.12."
#endif

// Py_mod_gil (free-threading declaration) exists from 3.13 on.
#ifdef Py_mod_gil
#define PLUGINHOST_HAS_MOD_GIL 1
#else
#define PLUGINHOST_HAS_MOD_GIL 0
#endif

namespace PluginHost::Shim
{

using PendingCallFunction = int (*)(void *);

/*
 * Queues function(argument) on interpreter's own pending-call queue: whichever of its
 * threads runs Python next calls it at a bytecode boundary, with that interpreter's GIL.
 * Callable from any thread without holding any GIL. Returns false when the queue is full.
 */
bool addPendingCall(PyInterpreterState *interpreter, PendingCallFunction function, void *argument);

// Slots in CPython's per-interpreter pending-call queue.
constexpr int pendingCallQueueSize = PY_VERSION_HEX >= 0x030D0000 ? 300 : 32;

// CPython 3.12.1 occasionally leaves a pending call unrun until another one is added
// (shared/BASELINE.md); callers re-arm after pendingCallRearmAfter.
constexpr bool pendingCallsMayStall = PY_VERSION_HEX < 0x030D0000;

// CPython 3.12 runs a single-phase extension's init function in an isolated interpreter
// before refusing it; its static state then points into that interpreter's allocator, and
// loading the extension again anywhere in the process frees foreign memory and aborts.
// 3.13 checks first. Callers never retry such an extension on 3.12.
constexpr bool refusedSinglePhaseExtensionsPoisonProcess = PY_VERSION_HEX < 0x030D0000;

// CPython 3.12.0 to 3.12.3: the first call with keyword arguments of a function of an extension
// module (_asyncio, select, _socket, _hashlib, ...) caches the function's keyword tuple in the
// memory of the interpreter making it, and Py_FinalizeEx() later frees that tuple with the main
// interpreter's allocator: `free(): invalid pointer`, the process aborts as it exits
// (python/cpython#119213, fixed in 3.12.4). The runtime therefore does not finalize there, once
// every interpreter has ended; the operating system reclaims the memory.
constexpr bool finalizingAbortsAfterSubinterpreters = PY_VERSION_HEX < 0x030C0400;

/*
 * Whether the calling thread's interpreter has its own GIL: 1 own, 0 shared, -1 when this
 * CPython cannot tell (3.12 has no query; the caller then reports what it asked for).
 * On the interpreter's thread with its GIL held; leaves no exception set.
 */
int currentInterpreterHasOwnGil();

} // namespace PluginHost::Shim
