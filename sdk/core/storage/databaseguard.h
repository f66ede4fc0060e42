// Keeps SQLite connections other than the host's own away from the profile database.
#pragma once

#include "pluginhostcore_export.h"

#include <QString>

namespace PluginHost::DatabaseGuard
{

/*
 * From now on SQLite, in this process, refuses to open `filePath` as a database, and the files
 * beside it whose names start with its name (-wal, -shm, -journal, copies set aside), unless the
 * opening thread holds a HostAccess. Plugins reach SQLite through the same library (Python's
 * sqlite3 module), and ATTACH DATABASE or VACUUM INTO open files without any audit event the
 * permission hook could see: this is where the profile database stays theirs to keep out of.
 * The guard wraps every registered SQLite VFS (keeping its name) on first use. Thread-safe.
 */
PLUGINHOSTCORE_EXPORT void protect(const QString &filePath);

/// While one exists on a thread, the SQLite databases that thread opens are the host's own.
class PLUGINHOSTCORE_EXPORT HostAccess
{
public:
    HostAccess();
    ~HostAccess();
    HostAccess(const HostAccess &) = delete;
    HostAccess &operator=(const HostAccess &) = delete;

private:
    const bool m_outer;
};

} // namespace PluginHost::DatabaseGuard
