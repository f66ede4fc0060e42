#pragma once

#include "job.h"

#include <QString>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace PluginHost
{

/*
 * The supervisor (DESIGN.md, threading points 5 and 6): one thread per process that watches
 * every interpreter while it runs a job. It
 * - interrupts a running job whose deadline passed or whose caller cancelled (an interrupt job
 *   raises pluginhost.Cancelled at the next bytecode boundary), and ends the caller's wait
 *   itself when the job is blocked in C and cannot be interrupted;
 * - drops queued jobs whose deadline passed or whose caller cancelled;
 * - samples the Python frame a long-running job is at (a probe through the pending call),
 *   which is what "blocked in C at …" reports, and marks interpreters busy (past their budget)
 *   or blocked (a pending call unanswered for blockedAfter);
 * - on CPython 3.12, re-rings doorbells whose pending call stalled.
 *
 * It sleeps without a timeout while no interpreter runs anything. Starting a job arms it with
 * one atomic load (an exchange and a wake-up only when it was asleep); armed, it looks every
 * tick, or at the next deadline when that comes sooner, and it falls asleep again after a
 * quarter second with nothing to watch.
 */
class Supervisor
{
public:
    using Clock = std::chrono::steady_clock;

    static constexpr auto tick = std::chrono::milliseconds(5);
    // How long an interrupt may take to land before the caller is told the job is blocked in C.
    static constexpr auto interruptGrace = std::chrono::milliseconds(100);
    // A job running longer than this gets its Python frame sampled this often.
    static constexpr auto probeInterval = std::chrono::milliseconds(100);
    // A pending call unanswered this long means the thread is blocked in C.
    static constexpr auto blockedAfter = std::chrono::milliseconds(200);
    // Ticks with nothing to watch before the supervisor sleeps without a timeout.
    static constexpr int quietTicksBeforeSleep = 50;

    // What one look decided, done once every lock is released: ending a caller's wait runs its
    // continuations, which may post to the same interpreter.
    struct Actions {
        struct Expiry {
            std::shared_ptr<JobControl> control;
            std::unique_ptr<Job> job; // a job dropped from a queue: destroyed after expiring
            JobControl::Expiry why;
            QString detail;
        };
        std::vector<Expiry> expiries;
        std::vector<std::function<void()>> notifications;
        void run();
    };

    // An interpreter, as the supervisor sees it.
    class Watched
    {
    public:
        virtual ~Watched();
        // With the supervisor's lock held. Returns when it wants to be looked at again:
        // Clock::time_point::max() when it runs nothing.
        virtual Clock::time_point supervise(Clock::time_point now, Actions &actions) = 0;
    };

    static Supervisor &instance();

    // Never under the watched interpreter's own lock: the supervisor locks the other way round.
    void watch(Watched *watched);
    void forget(Watched *watched);

    // A job started on some interpreter. Cheap when the supervisor is awake already.
    static void arm()
    {
        if (!s_armed.load(std::memory_order_relaxed)) {
            instance().wakeUp();
        }
    }

private:
    Supervisor() = default;
    void wakeUp();
    void run();

    static inline std::atomic<bool> s_armed{false};
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<Watched *> m_watched;
    bool m_running = false;
};

// The Python stack of the calling thread, innermost frame last, one "  File "…", line N, in f"
// line per frame like a traceback; empty when no Python code runs. GIL held.
QString formatPythonStack();
// "file.py:12 in function" for the innermost frame; empty when no Python code runs. GIL held.
QString innermostPythonFrame();

} // namespace PluginHost
