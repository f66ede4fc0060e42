// Memory figures for the tests that bound what a plugin or a value costs.
#pragma once

#include <QFile>
#include <QtGlobal>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace PluginHost::Tests
{

// Resident memory in KiB (-1 when /proc cannot tell), after handing the allocator's free
// pages back to the system, so that what remains is what is in use (or leaked), not what
// malloc keeps for later.
inline qint64 residentKiB()
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly)) {
        return -1;
    }
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:")) {
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
        }
    }
    return -1;
}

} // namespace PluginHost::Tests
