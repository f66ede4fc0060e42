#include "pythonshim.h" // Python.h comes before any Qt header

#include "supervisor.h"

#include "pyref.h"

#include <QStringList>

#include <algorithm>
#include <thread>

#include <pthread.h>

namespace PluginHost
{

JobControl::~JobControl() = default;
Supervisor::Watched::~Watched() = default;

void Supervisor::Actions::run()
{
    for (Expiry &expiry : expiries) {
        JobControl *control = expiry.control ? expiry.control.get() : expiry.job->control().get();
        control->expire(expiry.why, expiry.detail);
        expiry.job.reset();
    }
    for (const std::function<void()> &notify : notifications) {
        notify();
    }
}

Supervisor &Supervisor::instance()
{
    static auto *supervisor = new Supervisor; // its thread outlives static destruction
    return *supervisor;
}

void Supervisor::watch(Watched *watched)
{
    std::lock_guard lock(m_mutex);
    m_watched.push_back(watched);
    if (!m_running) {
        m_running = true;
        std::thread([this] {
            run();
        }).detach();
    }
}

void Supervisor::forget(Watched *watched)
{
    std::lock_guard lock(m_mutex);
    std::erase(m_watched, watched);
}

void Supervisor::wakeUp()
{
    if (s_armed.exchange(true)) {
        return;
    }
    {
        std::lock_guard lock(m_mutex); // the thread is either before its check or waiting
    }
    m_changed.notify_one();
}

void Supervisor::run()
{
    pthread_setname_np(pthread_self(), "py:supervisor");
    std::unique_lock lock(m_mutex);
    int quietTicks = 0;
    for (;;) {
        m_changed.wait(lock, [] {
            return s_armed.load();
        });
        const Clock::time_point now = Clock::now();
        Actions actions;
        Clock::time_point next = Clock::time_point::max();
        // An interpreter leaves the list (under this mutex) before it is destroyed.
        for (Watched *watched : m_watched) {
            next = std::min(next, watched->supervise(now, actions));
        }
        if (next != Clock::time_point::max()) {
            quietTicks = 0;
        } else if (++quietTicks >= quietTicksBeforeSleep) {
            quietTicks = 0;
            s_armed.store(false);
            // A job that started before the store saw the supervisor armed and did not wake it:
            // look once more, under each interpreter's lock, which orders this after its start.
            for (Watched *watched : m_watched) {
                next = std::min(next, watched->supervise(now, actions));
            }
            if (next != Clock::time_point::max()) {
                s_armed.store(true);
            }
        }
        if (!actions.expiries.empty() || !actions.notifications.empty()) {
            lock.unlock();
            actions.run();
            lock.lock();
        }
        if (s_armed.load()) {
            m_changed.wait_until(lock, std::min(next, Clock::now() + tick));
        }
    }
}

namespace
{
struct FrameInfo {
    QString fileName;
    int line = 0;
    QString function;
};

FrameInfo describe(PyFrameObject *frame)
{
    FrameInfo info;
    PyRef code = PyRef::steal(reinterpret_cast<PyObject *>(PyFrame_GetCode(frame)));
    const auto *codeObject = reinterpret_cast<PyCodeObject *>(code.get());
    const char *fileName = PyUnicode_AsUTF8(codeObject->co_filename);
    const char *function = PyUnicode_AsUTF8(codeObject->co_name);
    PyErr_Clear();
    info.fileName = QString::fromUtf8(fileName ? fileName : "?");
    info.function = QString::fromUtf8(function ? function : "?");
    info.line = PyFrame_GetLineNumber(frame);
    return info;
}

// Deep recursion is cut to the innermost frames: those are where the code is.
constexpr int maxFrames = 64;
} // namespace

QString formatPythonStack()
{
    QStringList lines;
    PyRef frame = PyRef::borrow(reinterpret_cast<PyObject *>(PyEval_GetFrame()));
    while (frame && lines.size() < maxFrames) {
        const FrameInfo info = describe(reinterpret_cast<PyFrameObject *>(frame.get()));
        lines.prepend(QStringLiteral("  File \"%1\", line %2, in %3").arg(info.fileName).arg(info.line).arg(info.function));
        frame = PyRef::steal(reinterpret_cast<PyObject *>(PyFrame_GetBack(reinterpret_cast<PyFrameObject *>(frame.get()))));
    }
    if (frame) {
        lines.prepend(QStringLiteral("  … (outer frames left out)"));
    }
    return lines.join(QLatin1Char('\n'));
}

QString innermostPythonFrame()
{
    PyFrameObject *frame = PyEval_GetFrame(); // borrowed
    if (!frame) {
        return QString();
    }
    const FrameInfo info = describe(frame);
    return QStringLiteral("%1:%2 in %3").arg(info.fileName).arg(info.line).arg(info.function);
}

} // namespace PluginHost
