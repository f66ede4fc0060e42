// The raw baseline: what PluginHost does for one plugin, written directly against CPython's
// C API with nothing of the SDK in between.
//
// One isolated subinterpreter on one std::thread, created with the same PyInterpreterConfig
// as sdk/core/runtime/interpreter.cpp (own GIL, own obmalloc, multi-interpreter extension
// check, threads allowed, no daemon threads, no fork, no exec), sys.path set as the SDK's
// load job sets it ([plugin folder] + Runtime::basePath()), the entry module imported and
// its on_load()/on_unload() hooks called when present, exactly as the SDK's jobs do. While
// idle the thread waits on a condition variable with its GIL released, like the SDK's.
//
// Needs PluginHost::Runtime::instance() first: the raw interpreters live in the same
// CPython runtime as the SDK's. Creation is serialised with a mutex of our own, as the
// SDK serialises its own.
#pragma once

#include <QString>

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <thread>
#include <vector>

typedef struct _ts PyThreadState;
typedef struct _is PyInterpreterState;
typedef struct _object PyObject;

namespace Bench
{

/// What the SDK's load job does: sys.path = [plugin folder] + Runtime::basePath(). On the
/// interpreter's thread with its GIL held; false with a Python exception set on failure.
bool setPluginSysPath(const QString &pluginDirectory);

class RawInterpreter
{
public:
    /// Starts the thread, which creates the interpreter and imports `module` from `pluginDirectory`.
    RawInterpreter(const QString &pluginDirectory, const QString &module);
    /// Ends the interpreter if end() was not called, and joins the thread.
    ~RawInterpreter();
    RawInterpreter(const RawInterpreter &) = delete;
    RawInterpreter &operator=(const RawInterpreter &) = delete;

    /// Waits until the module is imported. Throws std::runtime_error when that failed.
    void waitUntilReady();

    /// Calls module.<function>(*arguments) on the interpreter's thread, the way the SDK's call
    /// job does, and waits for it to return. Throws std::runtime_error when it raised.
    void call(const char *function, std::initializer_list<long long> arguments = {});

    /// call() in two halves: begin() hands the call over and returns at once; finish() waits
    /// for it to return (and throws when it raised). One call at a time.
    void begin(const char *function, std::initializer_list<long long> arguments = {});
    void finish();

    /// Runs on the interpreter's thread each time a call returned, before the caller is told
    /// (what a hand-rolled host would do to report back). Set it while no call is under way.
    void setReturnHook(std::function<void()> hook);

    /// The interpreter, for pending calls (Shim::addPendingCall). Waits until ready.
    PyInterpreterState *interpreterState();

    /// module.<name>, a new reference, or nullptr. On the interpreter's thread only, GIL held.
    PyObject *moduleAttribute(const char *name) const;

    /// Where the creation time went, measured on the thread: Py_NewInterpreterFromConfig, then
    /// sys.path + import + on_load(). Waits until ready.
    struct CreationPhases {
        double newInterpreterMilliseconds = 0;
        double importMilliseconds = 0;
    };
    CreationPhases creationPhases();

    /// The interpreter thread's tid (for placement.h). Waits until ready.
    pid_t threadId();

    /// Calls on_unload() if defined, ends the interpreter (Py_EndInterpreter) and waits for
    /// that. The thread then exits.
    void end();

private:
    enum class Request {
        None,
        Call,
        End,
    };
    void threadMain(const QString &pluginDirectory, const QString &module);
    QString create(const QString &pluginDirectory, const QString &module);
    void serve();
    QString invoke();
    void request(Request request, const char *function, std::initializer_list<long long> arguments);
    void waitForReply();

    // Requests and replies have a lock each, as the SDK's mailbox and its callers' waiters
    // do: neither side ever wakes up only to wait for the other's lock.
    std::mutex m_requestMutex;
    std::condition_variable m_wake;
    Request m_request = Request::None;
    const char *m_function = nullptr;
    std::vector<long long> m_arguments;
    std::function<void()> m_returnHook;

    std::mutex m_replyMutex;
    std::condition_variable m_done;
    bool m_ready = false; // created and imported, or failed (then m_error says why)
    bool m_ended = false;
    QString m_error;
    bool m_replied = false;
    pid_t m_threadId = 0;
    CreationPhases m_phases;

    PyInterpreterState *m_interpreterState = nullptr; // set once ready

    // Interpreter thread only.
    PyThreadState *m_threadState = nullptr;
    PyObject *m_module = nullptr;

    std::thread m_thread; // last: starts once everything above exists
};

} // namespace Bench
