#include "databaseguard.h"

#include "pluginhost_storage_debug.h"

#include <QByteArray>
#include <QFile>
#include <QFileInfo>
#include <QList>

#include <sqlite3.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace PluginHost::DatabaseGuard
{

namespace
{

thread_local bool t_hostAccess = false;

// A registered VFS in front of the one it replaced under the same name: every call goes on to
// the original (with the original as its `vfs`, where it keeps its own data), and xOpen first
// refuses the protected databases.
struct GuardedVfs {
    sqlite3_vfs vfs; // first: SQLite hands its calls this address
    sqlite3_vfs *original;
};

sqlite3_vfs *originalOf(sqlite3_vfs *vfs)
{
    return reinterpret_cast<GuardedVfs *>(vfs)->original;
}

struct Protected {
    QByteArray folder; // realpath
    QByteArray name;
};

struct Guard {
    std::mutex mutex;
    bool installed = false;
    QList<Protected> databases;
    std::vector<std::unique_ptr<GuardedVfs>> vfses; // SQLite may use them until the process ends
};

// Never destroyed: the registered VFSes must outlive static destruction, while threads of
// abandoned interpreters and SQLite's own shutdown may still open and close files through them.
Guard &guard()
{
    static auto *instance = new Guard;
    return *instance;
}

QByteArray realPath(const QByteArray &path)
{
    char *real = ::realpath(path.constData(), nullptr);
    if (!real) {
        return path;
    }
    QByteArray resolved(real);
    std::free(real);
    return resolved;
}

bool isProtected(const char *fileName)
{
    // What SQLite opens is the full path it made (symlinks resolved); resolving the folder again
    // and the file itself, when it exists, catches a link to the database made meanwhile.
    const QByteArray path(fileName);
    const qsizetype slash = path.lastIndexOf('/');
    const QByteArray folder = realPath(slash > 0 ? path.left(slash) : QByteArray("/"));
    const QByteArray name = path.mid(slash + 1);
    const QByteArray target = realPath(path);
    const qsizetype targetSlash = target.lastIndexOf('/');
    std::lock_guard lock(guard().mutex);
    for (const Protected &database : std::as_const(guard().databases)) {
        if ((folder == database.folder && name.startsWith(database.name))
            || (target.left(targetSlash) == database.folder && target.mid(targetSlash + 1).startsWith(database.name))) {
            return true;
        }
    }
    return false;
}

int guardedOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *outFlags)
{
    if (name && (flags & SQLITE_OPEN_MAIN_DB) && !t_hostAccess && isProtected(name)) {
        file->pMethods = nullptr;
        return SQLITE_PERM;
    }
    sqlite3_vfs *original = originalOf(vfs);
    return original->xOpen(original, name, file, flags, outFlags);
}

int guardedDelete(sqlite3_vfs *vfs, const char *name, int syncFolder)
{
    return originalOf(vfs)->xDelete(originalOf(vfs), name, syncFolder);
}

int guardedAccess(sqlite3_vfs *vfs, const char *name, int flags, int *result)
{
    return originalOf(vfs)->xAccess(originalOf(vfs), name, flags, result);
}

int guardedFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out)
{
    return originalOf(vfs)->xFullPathname(originalOf(vfs), name, size, out);
}

void *guardedDlOpen(sqlite3_vfs *vfs, const char *fileName)
{
    return originalOf(vfs)->xDlOpen(originalOf(vfs), fileName);
}

void guardedDlError(sqlite3_vfs *vfs, int size, char *message)
{
    originalOf(vfs)->xDlError(originalOf(vfs), size, message);
}

void (*guardedDlSym(sqlite3_vfs *vfs, void *library, const char *symbol))(void)
{
    return originalOf(vfs)->xDlSym(originalOf(vfs), library, symbol);
}

void guardedDlClose(sqlite3_vfs *vfs, void *library)
{
    originalOf(vfs)->xDlClose(originalOf(vfs), library);
}

int guardedRandomness(sqlite3_vfs *vfs, int size, char *out)
{
    return originalOf(vfs)->xRandomness(originalOf(vfs), size, out);
}

int guardedSleep(sqlite3_vfs *vfs, int microseconds)
{
    return originalOf(vfs)->xSleep(originalOf(vfs), microseconds);
}

int guardedCurrentTime(sqlite3_vfs *vfs, double *now)
{
    return originalOf(vfs)->xCurrentTime(originalOf(vfs), now);
}

int guardedGetLastError(sqlite3_vfs *vfs, int size, char *message)
{
    return originalOf(vfs)->xGetLastError(originalOf(vfs), size, message);
}

int guardedCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *now)
{
    return originalOf(vfs)->xCurrentTimeInt64(originalOf(vfs), now);
}

int guardedSetSystemCall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr call)
{
    return originalOf(vfs)->xSetSystemCall(originalOf(vfs), name, call);
}

sqlite3_syscall_ptr guardedGetSystemCall(sqlite3_vfs *vfs, const char *name)
{
    return originalOf(vfs)->xGetSystemCall(originalOf(vfs), name);
}

const char *guardedNextSystemCall(sqlite3_vfs *vfs, const char *name)
{
    return originalOf(vfs)->xNextSystemCall(originalOf(vfs), name);
}

std::unique_ptr<GuardedVfs> guarded(sqlite3_vfs *original)
{
    auto wrapper = std::make_unique<GuardedVfs>();
    wrapper->original = original;
    sqlite3_vfs &vfs = wrapper->vfs;
    vfs = *original;
    vfs.pNext = nullptr;
    // A method the original lacks stays absent: SQLite checks the version and the pointers.
    const auto forward = [](auto method, auto replacement) {
        return method ? replacement : nullptr;
    };
    vfs.xOpen = forward(original->xOpen, &guardedOpen);
    vfs.xDelete = forward(original->xDelete, &guardedDelete);
    vfs.xAccess = forward(original->xAccess, &guardedAccess);
    vfs.xFullPathname = forward(original->xFullPathname, &guardedFullPathname);
    vfs.xDlOpen = forward(original->xDlOpen, &guardedDlOpen);
    vfs.xDlError = forward(original->xDlError, &guardedDlError);
    vfs.xDlSym = forward(original->xDlSym, &guardedDlSym);
    vfs.xDlClose = forward(original->xDlClose, &guardedDlClose);
    vfs.xRandomness = forward(original->xRandomness, &guardedRandomness);
    vfs.xSleep = forward(original->xSleep, &guardedSleep);
    vfs.xCurrentTime = forward(original->xCurrentTime, &guardedCurrentTime);
    vfs.xGetLastError = forward(original->xGetLastError, &guardedGetLastError);
    if (original->iVersion >= 2) {
        vfs.xCurrentTimeInt64 = forward(original->xCurrentTimeInt64, &guardedCurrentTimeInt64);
    }
    if (original->iVersion >= 3) {
        vfs.xSetSystemCall = forward(original->xSetSystemCall, &guardedSetSystemCall);
        vfs.xGetSystemCall = forward(original->xGetSystemCall, &guardedGetSystemCall);
        vfs.xNextSystemCall = forward(original->xNextSystemCall, &guardedNextSystemCall);
    }
    return wrapper;
}

// Puts a guard in front of every VFS registered now. Under guard().mutex.
void install(Guard &state)
{
    std::vector<sqlite3_vfs *> originals;
    for (sqlite3_vfs *vfs = sqlite3_vfs_find(nullptr); vfs; vfs = vfs->pNext) {
        originals.push_back(vfs);
    }
    sqlite3_vfs *const defaultVfs = sqlite3_vfs_find(nullptr);
    for (sqlite3_vfs *original : originals) {
        std::unique_ptr<GuardedVfs> wrapper = guarded(original);
        // Registered before the original leaves, so that its name is never missing; SQLite finds
        // the first of a name, and a new registration comes first (the default) or second.
        if (sqlite3_vfs_register(&wrapper->vfs, original == defaultVfs ? 1 : 0) != SQLITE_OK) {
            qCWarning(PLUGINHOST_STORAGE) << "could not guard the SQLite VFS" << original->zName;
            continue;
        }
        sqlite3_vfs_unregister(original);
        state.vfses.push_back(std::move(wrapper));
    }
}

} // namespace

void protect(const QString &filePath)
{
    const QFileInfo file(filePath);
    Protected database{realPath(QFile::encodeName(file.absolutePath())), QFile::encodeName(file.fileName())};
    Guard &state = guard();
    std::lock_guard lock(state.mutex);
    if (!state.installed) {
        install(state);
        state.installed = true;
    }
    for (const Protected &known : std::as_const(state.databases)) {
        if (known.folder == database.folder && known.name == database.name) {
            return;
        }
    }
    state.databases.append(std::move(database));
}

HostAccess::HostAccess()
    : m_outer(std::exchange(t_hostAccess, true))
{
}

HostAccess::~HostAccess()
{
    t_hostAccess = m_outer;
}

} // namespace PluginHost::DatabaseGuard
