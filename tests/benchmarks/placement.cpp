#include "placement.h"

#include <QDir>
#include <QFile>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <sched.h>
#include <unistd.h>

namespace Bench
{

namespace
{
cpu_set_t processCpus()
{
    static const cpu_set_t initial = [] {
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        return set;
    }();
    return initial;
}

void setAffinity(pid_t threadId, const cpu_set_t &set)
{
    if (sched_setaffinity(threadId, sizeof set, &set) != 0) {
        throw std::runtime_error("sched_setaffinity(" + std::to_string(threadId) + "): " + std::strerror(errno));
    }
}
} // namespace

int usableCpuCount()
{
    const cpu_set_t set = processCpus();
    return CPU_COUNT(&set);
}

int usableCpu(int index)
{
    const cpu_set_t set = processCpus();
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set) && index-- == 0) {
            return cpu;
        }
    }
    throw std::runtime_error("this process may not run on that many CPUs");
}

void pinThread(pid_t threadId, int cpu)
{
    processCpus(); // remember the full set before anything is pinned
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    setAffinity(threadId, set);
}

void unpinThread(pid_t threadId)
{
    setAffinity(threadId, processCpus());
}

pid_t threadNamed(const QString &name)
{
    const QDir tasks(QStringLiteral("/proc/self/task"));
    const QString wanted = QString::fromUtf8(name.toUtf8().left(15));
    pid_t found = 0;
    for (const QString &task : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(tasks.filePath(task) + QStringLiteral("/comm"));
        if (comm.open(QIODevice::ReadOnly) && QString::fromUtf8(comm.readAll()).trimmed() == wanted) {
            if (found != 0) {
                throw std::runtime_error("more than one thread is named " + wanted.toStdString());
            }
            found = pid_t(task.toInt());
        }
    }
    if (found == 0) {
        throw std::runtime_error("no thread is named " + wanted.toStdString());
    }
    return found;
}

pid_t currentThreadId()
{
    return gettid();
}

} // namespace Bench
