// The permission hook: a C function CPython calls with every audit event (PEP 578) raised in a
// plugin's interpreter, on whichever of its threads raised it:
//
//     socket.create_connection(("example.org", 80))
//     # pluginhost.PermissionDenied: org.example.x: socket.getaddrinfo('example.org', 80) needs
//     # the "network" permission; add "network" to "X-PluginHost-Permissions" in …/metadata.json
//
// It is added with sys.addaudithook() before the plugin's code runs, so the plugin can neither
// patch nor remove it. Every event of the interpreter passes through it, most of them (compile,
// exec, object.__getattr__, sys._getframe, …) many times a second and of no concern here: those
// cost one binary search over the sorted table below, on the event's C string.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "audithook.h"
#include "bridge/values.h"
#include "modulestate_p.h"
#include "runtime/pyref.h"

#include "pluginhost_runtime_debug.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

namespace PluginHost
{

HostServices::PermissionPolicy HostServices::permissionPolicy() const
{
    return {};
}

namespace Module
{

namespace
{

enum class Permission : quint8 {
    Network,
    Subprocess,
    Filesystem,
    Native,
};
constexpr int permissionCount = 4;
constexpr const char *permissionNames[permissionCount] = {"network", "subprocess", "filesystem", "native"};

enum class Check : quint8 {
    Event, // the event itself needs the permission
    SocketAddress, // the same; args[1] is the address it goes to
    Open, // open(path, mode, flags): the path is read or written
    Read, // args[0] is a path that is read (listed, its attributes)
    Write, // args[0] is a path whose file changes (symlinks followed)
    Entry, // args[0] is a name in a folder that is made or removed (the name itself, not what it points to)
    Rename, // os.rename(src, dst, src_dir_fd, dst_dir_fd): both names change
    Link, // os.link(src, dst, src_dir_fd, dst_dir_fd): dst is made, and gives the access src has
    Symlink, // os.symlink(target, dst, dir_fd): dst is made; where it points is checked when it is opened
    SqliteConnect, // sqlite3.connect(database)
    Import, // import(module, filename, …): ctypes, cffi, extension modules from outside the library paths
    Refuse, // refused whatever the permissions
};

struct Rule {
    const char *event;
    Permission permission;
    Check check;
    qint8 subject = -1; // the first argument named in a denial, -1 for none
    qint8 subjects = 1; // how many arguments from there
    qint8 dirFd = -1; // the argument holding dir_fd (-1 for none); a second one follows it for Rename and Link
};

/*
 * Which audit event needs which permission, from CPython's audit events table (3.12, 3.13); the
 * README's permission matrix says the same. Sorted by event name in strcmp() order: the hook
 * finds events by binary search. Events absent here are allowed (mkfifo, mknod, os.putenv, … raise
 * none; gc.get_objects and friends reach no further than the plugin's own interpreter).
 */
constexpr Rule rules[] = {
    {"ctypes.call_function", Permission::Native, Check::Event, 0},
    {"ctypes.cdata", Permission::Native, Check::Event, 0},
    {"ctypes.cdata/buffer", Permission::Native, Check::Event, 0},
    {"ctypes.dlopen", Permission::Native, Check::Event, 0},
    {"ctypes.dlsym", Permission::Native, Check::Event, 1},
    {"ctypes.dlsym/handle", Permission::Native, Check::Event, 1},
    {"ctypes.string_at", Permission::Native, Check::Event, 0},
    {"ctypes.wstring_at", Permission::Native, Check::Event, 0},
    {"import", Permission::Native, Check::Import, 0},
    {"open", Permission::Filesystem, Check::Open, 0},
    {"os.chdir", Permission::Filesystem, Check::Event, 0},
    {"os.chflags", Permission::Filesystem, Check::Write, 0},
    {"os.chmod", Permission::Filesystem, Check::Write, 0, 1, 2},
    {"os.chown", Permission::Filesystem, Check::Write, 0, 1, 3},
    {"os.exec", Permission::Subprocess, Check::Event, 0},
    {"os.fork", Permission::Subprocess, Check::Event},
    {"os.forkpty", Permission::Subprocess, Check::Event},
    {"os.getxattr", Permission::Filesystem, Check::Read, 0},
    {"os.kill", Permission::Subprocess, Check::Event, 0, 2},
    {"os.killpg", Permission::Subprocess, Check::Event, 0, 2},
    {"os.lchflags", Permission::Filesystem, Check::Write, 0},
    {"os.link", Permission::Filesystem, Check::Link, 0, 2, 2},
    {"os.listdir", Permission::Filesystem, Check::Read, 0},
    {"os.listxattr", Permission::Filesystem, Check::Read, 0},
    {"os.mkdir", Permission::Filesystem, Check::Entry, 0, 1, 2},
    {"os.posix_spawn", Permission::Subprocess, Check::Event, 0},
    {"os.remove", Permission::Filesystem, Check::Entry, 0, 1, 1},
    {"os.removexattr", Permission::Filesystem, Check::Write, 0},
    {"os.rename", Permission::Filesystem, Check::Rename, 0, 2, 2},
    {"os.rmdir", Permission::Filesystem, Check::Entry, 0, 1, 1},
    {"os.scandir", Permission::Filesystem, Check::Read, 0},
    {"os.setxattr", Permission::Filesystem, Check::Write, 0},
    {"os.spawn", Permission::Subprocess, Check::Event, 1},
    {"os.startfile", Permission::Subprocess, Check::Event, 0},
    {"os.startfile/2", Permission::Subprocess, Check::Event, 0},
    {"os.symlink", Permission::Filesystem, Check::Symlink, 0, 2, 2},
    {"os.system", Permission::Subprocess, Check::Event, 0},
    {"os.truncate", Permission::Filesystem, Check::Write, 0},
    {"os.utime", Permission::Filesystem, Check::Write, 0, 1, 3},
    {"pty.spawn", Permission::Subprocess, Check::Event, 0},
    {"resource.prlimit", Permission::Native, Check::Event, 0, 2},
    {"resource.setrlimit", Permission::Native, Check::Event, 0, 2},
    {"signal.pthread_kill", Permission::Subprocess, Check::Event, 0, 2},
    {"socket.bind", Permission::Network, Check::SocketAddress, 1},
    {"socket.connect", Permission::Network, Check::SocketAddress, 1},
    {"socket.getaddrinfo", Permission::Network, Check::Event, 0, 2},
    {"socket.gethostbyaddr", Permission::Network, Check::Event, 0},
    {"socket.gethostbyname", Permission::Network, Check::Event, 0},
    {"socket.getnameinfo", Permission::Network, Check::Event, 0},
    {"socket.getservbyname", Permission::Network, Check::Event, 0, 2},
    {"socket.getservbyport", Permission::Network, Check::Event, 0, 2},
    {"socket.sendmsg", Permission::Network, Check::SocketAddress, 1},
    {"socket.sendto", Permission::Network, Check::SocketAddress, 1},
    {"socket.sethostname", Permission::Network, Check::Event, 0},
    {"sqlite3.connect", Permission::Filesystem, Check::SqliteConnect, 0},
    {"sqlite3.enable_load_extension", Permission::Native, Check::Event, 1},
    {"sqlite3.load_extension", Permission::Native, Check::Event, 1},
    {"subprocess.Popen", Permission::Subprocess, Check::Event, 1},
    {"sys._current_exceptions", Permission::Native, Check::Refuse},
    {"sys._current_frames", Permission::Native, Check::Refuse},
    {"sys.addaudithook", Permission::Native, Check::Event},
    {"sys.monitoring.register_callback", Permission::Native, Check::Event},
    {"sys.remote_exec", Permission::Native, Check::Event, 0},
    {"sys.setprofile", Permission::Native, Check::Event},
    {"sys.settrace", Permission::Native, Check::Event},
};

constexpr int compareNames(const char *left, const char *right)
{
    while (*left && *left == *right) {
        ++left;
        ++right;
    }
    return static_cast<unsigned char>(*left) - static_cast<unsigned char>(*right);
}

constexpr bool rulesSorted()
{
    for (std::size_t i = 1; i < std::size(rules); ++i) {
        if (compareNames(rules[i - 1].event, rules[i].event) >= 0) {
            return false;
        }
    }
    return true;
}
static_assert(rulesSorted(), "the rules must stay sorted by event name: the hook finds them by binary search");

const Rule *findRule(const char *event)
{
    const Rule *found = std::lower_bound(std::begin(rules), std::end(rules), event, [](const Rule &rule, const char *name) {
        return std::strcmp(rule.event, name) < 0;
    });
    return found != std::end(rules) && std::strcmp(found->event, event) == 0 ? found : nullptr;
}

thread_local bool t_hostAction = false;

// --- paths --------------------------------------------------------------------------------
// Paths are bytes here, as the kernel sees them: they need not be UTF-8, so QString (and
// QDir::cleanPath) would not hold every one of them exactly.

bool isInside(const QByteArray &path, const QByteArray &folder)
{
    if (folder.isEmpty() || !path.startsWith(folder)) {
        return false;
    }
    return path.size() == folder.size() || folder.endsWith('/') || path.at(folder.size()) == '/';
}

// `absolute` without empty, "." and ".." components.
QByteArray cleanPath(const QByteArray &absolute)
{
    QList<QByteArray> kept;
    for (const QByteArray &component : absolute.split('/')) {
        if (component.isEmpty() || component == ".") {
            continue;
        }
        if (component == "..") {
            if (!kept.isEmpty()) {
                kept.removeLast();
            }
            continue;
        }
        kept.append(component);
    }
    return '/' + kept.join('/');
}

/*
 * Where `path` (absolute, or relative to `base`) leads now: the part that exists with every
 * symlink resolved (realpath), the rest cleaned. With followLast false the last component stays
 * itself, for calls that act on a name in a folder (remove, rename) rather than on what it
 * points to.
 */
QByteArray resolvedPath(QByteArray path, const QByteArray &base, bool followLast)
{
    if (!path.startsWith('/')) {
        path = base + '/' + path;
    }
    while (path.size() > 1 && path.endsWith('/')) {
        path.chop(1);
    }
    QByteArray tail;
    if (!followLast) {
        const qsizetype slash = path.lastIndexOf('/');
        tail = path.mid(slash);
        path.truncate(qMax<qsizetype>(slash, 1));
    }
    while (true) {
        if (char *real = ::realpath(path.constData(), nullptr)) {
            const QByteArray resolved(real);
            std::free(real);
            return tail.isEmpty() ? resolved : cleanPath(resolved + tail);
        }
        if (path == "/") {
            return cleanPath(path + tail);
        }
        // Not there (yet): what exists above it decides where it would be made.
        const qsizetype slash = path.lastIndexOf('/');
        tail.prepend(path.mid(slash));
        path.truncate(qMax<qsizetype>(slash, 1));
    }
}

QByteArray workingDirectory()
{
    char buffer[PATH_MAX];
    return ::getcwd(buffer, sizeof buffer) ? QByteArray(buffer) : QByteArray("/");
}

// What descriptor `fd` of this process is open on, or empty when it is no file or folder.
QByteArray descriptorPath(long fd)
{
    char buffer[PATH_MAX];
    const QByteArray link = "/proc/self/fd/" + QByteArray::number(qlonglong(fd));
    const ssize_t length = ::readlink(link.constData(), buffer, sizeof buffer - 1);
    if (length <= 0 || buffer[0] != '/') {
        return {};
    }
    QByteArray path(buffer, length);
    if (path.endsWith(" (deleted)")) {
        path.chop(10);
    }
    return path;
}

// The folders this process holds descriptors of: what a dir_fd may be.
QList<QByteArray> openFolders()
{
    QList<QByteArray> folders;
    const QDir descriptors(QStringLiteral("/proc/self/fd"));
    for (const QString &entry : descriptors.entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot)) {
        bool number = false;
        const long fd = entry.toLong(&number);
        const QByteArray path = number ? descriptorPath(fd) : QByteArray();
        struct stat status;
        if (!path.isEmpty() && !folders.contains(path) && ::stat(path.constData(), &status) == 0 && S_ISDIR(status.st_mode)) {
            folders.append(path);
        }
    }
    return folders;
}

// The bytes of a path argument (str or bytes, as CPython passes them after os.fspath()).
std::optional<QByteArray> pathBytes(PyObject *path)
{
    if (PyBytes_Check(path)) {
        return QByteArray(PyBytes_AS_STRING(path), PyBytes_GET_SIZE(path));
    }
    if (PyUnicode_Check(path)) {
        PyRef encoded = PyRef::steal(PyUnicode_EncodeFSDefault(path));
        if (encoded) {
            return QByteArray(PyBytes_AS_STRING(encoded.get()), PyBytes_GET_SIZE(encoded.get()));
        }
        PyErr_Clear();
    }
    return std::nullopt;
}

QString reprOf(PyObject *object)
{
    constexpr qsizetype longest = 200;
    PyRef repr = PyRef::steal(PyObject_Repr(object));
    QString text;
    if (!repr || !Values::toQString(repr.get(), &text)) {
        PyErr_Clear();
        return QStringLiteral("<%1>").arg(QString::fromUtf8(Py_TYPE(object)->tp_name));
    }
    return text.size() > longest ? text.left(longest) + QStringLiteral("…") : text;
}

QString argumentsOf(PyObject *args, int first, int count)
{
    QStringList shown;
    for (int i = first; i >= 0 && i < first + count && i < PyTuple_GET_SIZE(args); ++i) {
        shown.append(reprOf(PyTuple_GET_ITEM(args, i)));
    }
    return shown.join(QStringLiteral(", "));
}

enum class Access {
    Read,
    Write,
    WriteFile, // open() for writing: it changes a file, never the folder it names (O_TMPFILE adds an unnamed file)
};

// Why an action is not allowed: a missing permission, or a refusal that no permission lifts.
struct Denial {
    bool denied = false;
    bool refused = false;
    Permission permission = Permission::Filesystem;
    QString reason;

    static Denial none()
    {
        return {};
    }
    static Denial needs(Permission permission, const QString &reason = QString())
    {
        return {true, false, permission, reason};
    }
    static Denial refusal(const QString &reason)
    {
        return {true, true, Permission::Filesystem, reason};
    }
};

constexpr const char *capsuleName = "pluginhost.PermissionHook";

// --- the hook -------------------------------------------------------------------------------

class PermissionHook
{
public:
    PermissionHook(const HostServices &services, const HostServices::PermissionPolicy &policy, PyObject *permissionDenied);
    ~PermissionHook()
    {
        Py_XDECREF(m_permissionDenied);
    }

    // None, or nullptr with PermissionDenied (or what checking raised) set.
    PyObject *check(const Rule &rule, PyObject *args);

    // _posixsubprocess.fork_exec() without the subprocess permission (see guardForkExec()).
    PyObject *refuseForkExec() const
    {
        return deny(QStringLiteral("_posixsubprocess.fork_exec()"),
                    Denial::needs(Permission::Subprocess, QStringLiteral("it starts a program, as subprocess does")));
    }
    bool mayStartPrograms() const
    {
        return granted(Permission::Subprocess);
    }

private:
    bool granted(Permission permission) const
    {
        return m_granted[int(permission)];
    }

    Denial checkPath(const QByteArray &path, Access access) const;
    QString refusalOf(const QByteArray &path, Access access) const;
    bool isProfileFile(const QByteArray &path) const;
    bool isBytecodeCache(const QByteArray &path) const;

    // Resolves args[index] as a path relative to the folder of args[dirFdIndex] (or the working
    // directory). Nothing for a descriptor (`descriptor` holds what it is open on) or an argument
    // that is no path.
    std::optional<QByteArray> resolvedArgument(PyObject *args, int index, int dirFdIndex, bool followLast, QByteArray *descriptor, QString *problem) const;

    PyObject *checkPathArguments(const Rule &rule, PyObject *args);
    PyObject *checkOpen(const Rule &rule, PyObject *args);
    PyObject *checkSqliteConnect(const Rule &rule, PyObject *args);
    PyObject *checkImport(const Rule &rule, PyObject *args);

    QString describe(const Rule &rule, PyObject *args) const;
    QString describePath(const QString &action, const std::optional<QByteArray> &given, const QByteArray &resolved) const;
    PyObject *deny(const QString &action, const Denial &denial) const;
    void locate(QString *fileName, int *line) const;

    bool m_granted[permissionCount] = {};
    PyObject *m_permissionDenied;
    QString m_pluginId;
    QString m_metaDataFile;
    QString m_pluginDirectoryText;
    QByteArray m_pluginDirectory;
    QByteArray m_dataDirectory;
    QByteArray m_dataLocation;
    QByteArray m_profileFolder;
    QByteArray m_profileName;
    QByteArray m_processMemory; // "/proc/<pid>/"
    QList<QByteArray> m_readableFolders; // without filesystem
    QList<QByteArray> m_readableFiles;
    QList<QByteArray> m_libraryFolders; // where extension modules load from without native
};

PermissionHook::PermissionHook(const HostServices &services, const HostServices::PermissionPolicy &policy, PyObject *permissionDenied)
    : m_permissionDenied(Py_NewRef(permissionDenied))
    , m_pluginId(services.pluginId())
    , m_metaDataFile(policy.metaDataFile)
    , m_pluginDirectoryText(QFileInfo(services.directory()).absoluteFilePath())
{
    for (const QString &permission : policy.permissions) {
        for (int i = 0; i < permissionCount; ++i) {
            m_granted[i] = m_granted[i] || permission == QLatin1String(permissionNames[i]);
        }
    }
    const QByteArray workingFolder = workingDirectory();
    const auto resolved = [&workingFolder](const QString &path) {
        return path.isEmpty() ? QByteArray() : resolvedPath(QFile::encodeName(path), workingFolder, true);
    };
    m_pluginDirectory = resolved(services.directory());
    m_dataDirectory = resolved(policy.dataDirectory);
    m_dataLocation = resolved(policy.dataLocation);
    if (!policy.profileDatabase.isEmpty()) {
        const QFileInfo profile(policy.profileDatabase);
        m_profileFolder = resolved(profile.absolutePath());
        m_profileName = QFile::encodeName(profile.fileName());
    }
    m_processMemory = "/proc/" + QByteArray::number(qlonglong(::getpid())) + '/';

    // What CPython reads to import: the plugin's folder and the library paths (the standard
    // library, lib-dynload and the application's extra paths), as sys.path holds them now.
    m_readableFolders = {m_pluginDirectory, m_dataDirectory};
    if (PyObject *path = PySys_GetObject("path"); path && PyList_Check(path)) { // borrowed
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(path); ++i) {
            if (const std::optional<QByteArray> entry = pathBytes(PyList_GET_ITEM(path, i)); entry && !entry->isEmpty()) {
                const QByteArray folder = resolvedPath(*entry, workingFolder, true);
                m_readableFolders.append(folder);
                if (folder != m_pluginDirectory) {
                    m_libraryFolders.append(folder);
                }
            }
        }
    }
    // System data the standard library reads itself: time zones (zoneinfo's default TZPATH and
    // /etc/localtime), MIME types (mimetypes.knownfiles), and the harmless devices.
    for (const char *folder : {"/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo", "/etc/zoneinfo"}) {
        m_readableFolders.append(resolvedPath(folder, "/", true));
    }
    for (const char *file : {"/etc/localtime",
                             "/etc/mime.types",
                             "/etc/httpd/mime.types",
                             "/etc/httpd/conf/mime.types",
                             "/etc/apache/mime.types",
                             "/etc/apache2/mime.types",
                             "/usr/local/etc/httpd/conf/mime.types",
                             "/usr/local/lib/netscape/mime.types",
                             "/usr/local/etc/mime.types",
                             "/dev/null",
                             "/dev/zero",
                             "/dev/random",
                             "/dev/urandom"}) {
        m_readableFiles.append(resolvedPath(file, "/", true));
    }
}

bool PermissionHook::isProfileFile(const QByteArray &path) const
{
    if (m_profileName.isEmpty()) {
        return false;
    }
    const qsizetype slash = path.lastIndexOf('/');
    const QByteArray folder = slash == 0 ? QByteArray("/") : path.left(slash);
    // pluginhost.sqlite, its -wal, -shm and -journal, and the copies set aside as corrupt.
    return folder == m_profileFolder && path.mid(slash + 1).startsWith(m_profileName);
}

bool PermissionHook::isBytecodeCache(const QByteArray &path) const
{
    if (!isInside(path, m_pluginDirectory)) {
        return false;
    }
    const QByteArray below = path.mid(m_pluginDirectory.size());
    return below.contains("/__pycache__/") || below.endsWith("/__pycache__");
}

QString PermissionHook::refusalOf(const QByteArray &path, Access access) const
{
    if (isProfileFile(path)) {
        return QStringLiteral("the profile database belongs to the host and no permission opens it; keep data in pluginhost.storage or info.data_dir");
    }
    if (isInside(path, m_dataLocation) && !isInside(path, m_dataDirectory)) {
        const QByteArray below = path.mid(m_dataLocation.size() + 1);
        const QString owner = QFile::decodeName(below.left(below.indexOf('/')));
        if (owner.isEmpty()) {
            return QStringLiteral("that folder holds the data folder of every plugin, and no permission opens it");
        }
        return QStringLiteral("that is the data folder of another plugin (%1), and no permission opens it").arg(owner);
    }
    if (access == Access::Write && (isInside(m_profileFolder, path) || isInside(m_dataLocation, path))) {
        return QStringLiteral("that folder holds the profile database or the plugins' data, and no permission changes it");
    }
    return {};
}

Denial PermissionHook::checkPath(const QByteArray &path, Access access) const
{
    if (const QString refusal = refusalOf(path, access); !refusal.isEmpty()) {
        return Denial::refusal(refusal);
    }
    if (path.startsWith(m_processMemory) && path.endsWith("/mem")) {
        if (!granted(Permission::Native)) {
            return Denial::needs(Permission::Native, QStringLiteral("that file is the host process's memory"));
        }
        return Denial::none();
    }
    if (granted(Permission::Filesystem) || isInside(path, m_dataDirectory)) {
        return Denial::none();
    }
    if (access == Access::Read) {
        const bool readable = m_readableFiles.contains(path) || std::any_of(m_readableFolders.cbegin(), m_readableFolders.cend(), [&path](const QByteArray &folder) {
                                  return isInside(path, folder);
                              });
        struct stat status;
        if (readable || (::lstat(path.constData(), &status) != 0 && (errno == ENOENT || errno == ENOTDIR))) {
            return Denial::none(); // nothing there to read: the system answers (tracebacks look up "<unknown>")
        }
    } else if (path == "/dev/null" || isBytecodeCache(path)) {
        return Denial::none();
    }
    return Denial::needs(Permission::Filesystem,
                         QStringLiteral("without it a plugin reads only its own folder, its data_dir and the Python library, and writes only its data_dir"));
}

std::optional<QByteArray>
PermissionHook::resolvedArgument(PyObject *args, int index, int dirFdIndex, bool followLast, QByteArray *descriptor, QString *problem) const
{
    if (index >= PyTuple_GET_SIZE(args)) {
        return std::nullopt;
    }
    PyObject *argument = PyTuple_GET_ITEM(args, index);
    if (argument == Py_None) {
        return resolvedPath(".", workingDirectory(), true); // os.listdir(), os.scandir()
    }
    if (PyLong_Check(argument)) {
        // A descriptor: opening it was checked. Only where it leads now matters, for refusals.
        *descriptor = descriptorPath(PyLong_AsLong(argument));
        PyErr_Clear();
        return std::nullopt;
    }
    const std::optional<QByteArray> path = pathBytes(argument);
    if (!path) {
        return std::nullopt; // only sys.audit() called by the plugin passes these: nothing happens
    }
    QByteArray base;
    if (!path->startsWith('/')) {
        long dirFd = -1;
        if (dirFdIndex >= 0 && dirFdIndex < PyTuple_GET_SIZE(args) && PyLong_Check(PyTuple_GET_ITEM(args, dirFdIndex))) {
            dirFd = PyLong_AsLong(PyTuple_GET_ITEM(args, dirFdIndex));
            PyErr_Clear();
        }
        base = dirFd < 0 ? workingDirectory() : descriptorPath(dirFd); // CPython passes -1 for none
        if (base.isEmpty()) {
            *problem = QStringLiteral("the folder of descriptor %1 cannot be told").arg(dirFd);
            return std::nullopt;
        }
    }
    return resolvedPath(*path, base, followLast);
}

PyObject *PermissionHook::check(const Rule &rule, PyObject *args)
{
    if (!PyTuple_Check(args)) {
        Py_RETURN_NONE; // only sys.audit() called by the plugin passes these: nothing happens
    }
    switch (rule.check) {
    case Check::Event:
    case Check::SocketAddress:
        if (granted(rule.permission)) {
            Py_RETURN_NONE;
        }
        return deny(describe(rule, args), Denial::needs(rule.permission));
    case Check::Open:
        return checkOpen(rule, args);
    case Check::Read:
    case Check::Write:
    case Check::Entry:
    case Check::Rename:
    case Check::Link:
    case Check::Symlink:
        return checkPathArguments(rule, args);
    case Check::SqliteConnect:
        return checkSqliteConnect(rule, args);
    case Check::Import:
        if (granted(Permission::Native)) {
            Py_RETURN_NONE;
        }
        return checkImport(rule, args);
    case Check::Refuse:
        // In a subinterpreter these still hand out the frames of every interpreter's threads
        // (CPython 3.12, 3.13): using another interpreter's objects corrupts the process.
        return deny(describe(rule, args),
                    Denial::refusal(QStringLiteral("it reaches the threads of every plugin and of the host, and using their frames crashes the process")));
    }
    Py_RETURN_NONE;
}

PyObject *PermissionHook::checkPathArguments(const Rule &rule, PyObject *args)
{
    struct Operand {
        int index;
        int dirFd;
        bool followLast;
        Access access;
    };
    QList<Operand> operands;
    switch (rule.check) {
    case Check::Read:
        operands = {{0, rule.dirFd, true, Access::Read}};
        break;
    case Check::Write:
        operands = {{0, rule.dirFd, true, Access::Write}};
        break;
    case Check::Entry:
        operands = {{0, rule.dirFd, false, Access::Write}};
        break;
    case Check::Rename:
        operands = {{0, rule.dirFd, false, Access::Write}, {1, rule.dirFd + 1, false, Access::Write}};
        break;
    case Check::Link:
        operands = {{0, rule.dirFd, true, Access::Write}, {1, rule.dirFd + 1, false, Access::Write}};
        break;
    default: // Symlink
        operands = {{1, rule.dirFd, false, Access::Write}};
        break;
    }
    for (const Operand &operand : std::as_const(operands)) {
        QByteArray descriptor;
        QString problem;
        const std::optional<QByteArray> path = resolvedArgument(args, operand.index, operand.dirFd, operand.followLast, &descriptor, &problem);
        Denial denial;
        QByteArray shown;
        if (path) {
            denial = checkPath(*path, operand.access);
            shown = *path;
        } else if (!descriptor.isEmpty()) {
            if (const QString refusal = refusalOf(descriptor, operand.access); !refusal.isEmpty()) {
                denial = Denial::refusal(refusal);
                shown = descriptor;
            }
        } else if (!problem.isEmpty()) {
            denial = Denial::refusal(problem);
        }
        if (denial.denied) {
            const std::optional<QByteArray> given = operand.index < PyTuple_GET_SIZE(args) ? pathBytes(PyTuple_GET_ITEM(args, operand.index)) : std::nullopt;
            return deny(describePath(describe(rule, args), given, shown), denial);
        }
    }
    Py_RETURN_NONE;
}

PyObject *PermissionHook::checkOpen(const Rule &rule, PyObject *args)
{
    Q_UNUSED(rule);
    if (PyTuple_GET_SIZE(args) < 1) {
        Py_RETURN_NONE;
    }
    long flags = O_RDONLY;
    if (PyTuple_GET_SIZE(args) >= 3 && PyLong_Check(PyTuple_GET_ITEM(args, 2))) {
        flags = PyLong_AsLong(PyTuple_GET_ITEM(args, 2));
        PyErr_Clear();
    }
    const bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND)) != 0;
    const Access access = writes ? Access::WriteFile : Access::Read;
    const auto action = [args, writes] {
        return QStringLiteral("open(%1) for %2").arg(reprOf(PyTuple_GET_ITEM(args, 0)), writes ? QStringLiteral("writing") : QStringLiteral("reading"));
    };

    PyObject *argument = PyTuple_GET_ITEM(args, 0);
    if (PyLong_Check(argument)) {
        // A descriptor: opening it was checked. Only where it leads now matters, for refusals.
        const QByteArray descriptor = descriptorPath(PyLong_AsLong(argument));
        PyErr_Clear();
        const QString refusal = descriptor.isEmpty() ? QString() : refusalOf(descriptor, access);
        if (refusal.isEmpty()) {
            Py_RETURN_NONE;
        }
        return deny(describePath(action(), std::nullopt, descriptor), Denial::refusal(refusal));
    }
    const std::optional<QByteArray> given = pathBytes(argument);
    if (!given) {
        Py_RETURN_NONE; // only sys.audit() called by the plugin passes these: nothing happens
    }
    // os.open() (the event without a mode) may have had a dir_fd, which the event does not carry:
    // a relative path must then be allowed below every folder it may be relative to.
    QList<QByteArray> folders;
    if (!given->startsWith('/')) {
        folders.append(workingDirectory());
        if (PyTuple_GET_SIZE(args) >= 2 && PyTuple_GET_ITEM(args, 1) == Py_None) {
            folders += openFolders();
        }
    } else {
        folders.append(QByteArray()); // not needed
    }
    for (const QByteArray &folder : std::as_const(folders)) {
        const QByteArray path = resolvedPath(*given, folder, true);
        if (const Denial denial = checkPath(path, access); denial.denied) {
            return deny(describePath(action(), given, path), denial);
        }
    }
    Py_RETURN_NONE;
}

PyObject *PermissionHook::checkSqliteConnect(const Rule &rule, PyObject *args)
{
    if (PyTuple_GET_SIZE(args) < 1) {
        Py_RETURN_NONE;
    }
    // The path as SQLite will get it, unless a path-like object answers differently the next
    // time: SQLite opens files without audit events (ATTACH too), so what reaches it past this
    // check is out of the hook's sight. The profile database is refused by SQLite itself.
    PyRef database = PyRef::steal(PyOS_FSPath(PyTuple_GET_ITEM(args, 0)));
    if (!database) {
        return nullptr; // the TypeError sqlite3.connect() would raise itself
    }
    const std::optional<QByteArray> bytes = pathBytes(database.get());
    if (!bytes) {
        Py_RETURN_NONE;
    }
    QByteArray file = *bytes;
    Access access = Access::Write; // SQLite opens read-write and creates the file unless told otherwise
    if (file.startsWith("file:")) {
        // A URI (uri=True): file:[//host]/path[?mode=ro&vfs=…][#…]
        QByteArray rest = file.mid(5);
        const qsizetype fragment = rest.indexOf('#');
        if (fragment >= 0) {
            rest.truncate(fragment);
        }
        const qsizetype question = rest.indexOf('?');
        const QByteArray query = question >= 0 ? rest.mid(question + 1) : QByteArray();
        rest.truncate(question >= 0 ? question : rest.size());
        if (rest.startsWith("//")) {
            const qsizetype slash = rest.indexOf('/', 2);
            rest = slash >= 0 ? rest.mid(slash) : QByteArray();
        }
        file = QByteArray::fromPercentEncoding(rest);
        for (const QByteArray &parameter : query.split('&')) {
            if (parameter == "mode=memory" || parameter == "vfs=memdb") {
                Py_RETURN_NONE;
            }
            if (parameter == "mode=ro" || parameter == "immutable=1") {
                access = Access::Read;
            }
        }
    }
    if (file.isEmpty() || file == ":memory:") {
        Py_RETURN_NONE; // in memory, or a temporary database SQLite deletes itself
    }
    const QByteArray path = resolvedPath(file, workingDirectory(), true);
    Denial denial = checkPath(path, access);
    if (!denial.denied) {
        Py_RETURN_NONE;
    }
    if (access == Access::Write && !denial.refused && !checkPath(path, Access::Read).denied) {
        denial.reason += QStringLiteral("; to read it only, open it read-only: sqlite3.connect(\"file:%1?mode=ro\", uri=True)")
                             .arg(QString::fromLatin1(path.toPercentEncoding("/")));
    }
    return deny(describePath(describe(rule, args), file, path), denial);
}

PyObject *PermissionHook::checkImport(const Rule &rule, PyObject *args)
{
    Q_UNUSED(rule);
    if (PyTuple_GET_SIZE(args) < 2 || !PyUnicode_Check(PyTuple_GET_ITEM(args, 0))) {
        Py_RETURN_NONE;
    }
    Py_ssize_t size = 0;
    const char *name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(args, 0), &size);
    if (!name) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!granted(Permission::Subprocess) && std::strcmp(name, "_posixsubprocess") == 0) {
        // A fresh copy would bring back the fork_exec() that guardForkExec() replaced.
        return deny(QStringLiteral("import _posixsubprocess again"), Denial::needs(Permission::Subprocess, QStringLiteral("it starts programs")));
    }
    const char *dot = std::strrchr(name, '.');
    const char *last = dot ? dot + 1 : name;
    // ctypes and cffi reach any C function of the process; an extension module's init function
    // runs by the name of the module's last component.
    for (const char *foreignFunctions : {"ctypes", "cffi", "_ctypes", "_cffi_backend"}) {
        if (std::strcmp(name, foreignFunctions) == 0 || (foreignFunctions[0] == '_' && std::strcmp(last, foreignFunctions) == 0)) {
            return deny(QStringLiteral("import %1").arg(QString::fromUtf8(name, size)),
                        Denial::needs(Permission::Native, QStringLiteral("it calls C functions of the process directly")));
        }
    }
    PyObject *fileName = PyTuple_GET_ITEM(args, 1);
    if (!PyUnicode_Check(fileName)) {
        Py_RETURN_NONE; // a module that is not an extension module
    }
    const std::optional<QByteArray> file = pathBytes(fileName);
    if (!file) {
        Py_RETURN_NONE;
    }
    const QByteArray path = resolvedPath(*file, workingDirectory(), true);
    const QByteArray baseName = path.mid(path.lastIndexOf('/') + 1);
    const bool library = std::any_of(m_libraryFolders.cbegin(), m_libraryFolders.cend(), [&path](const QByteArray &folder) {
        return isInside(path, folder);
    });
    if (library && !baseName.startsWith("_ctypes.") && !baseName.startsWith("_cffi_backend.")) {
        Py_RETURN_NONE;
    }
    return deny(QStringLiteral("loading the extension module %1 from %2").arg(QString::fromUtf8(name, size), QFile::decodeName(path)),
                Denial::needs(Permission::Native,
                              QStringLiteral("native code runs unchecked: only extension modules of the Python library and the application's paths "
                                             "load without it")));
}

QString PermissionHook::describe(const Rule &rule, PyObject *args) const
{
    const QString event = QString::fromLatin1(rule.event);
    if (rule.check == Check::SocketAddress) {
        return QStringLiteral("%1 to %2").arg(event, argumentsOf(args, rule.subject, 1));
    }
    return QStringLiteral("%1(%2)").arg(event, argumentsOf(args, rule.subject, rule.subjects));
}

// The action, and where the path really leads when that is not what the plugin wrote.
QString PermissionHook::describePath(const QString &action, const std::optional<QByteArray> &given, const QByteArray &resolved) const
{
    if (resolved.isEmpty() || (given && *given == resolved)) {
        return action;
    }
    return QStringLiteral("%1 (that is %2)").arg(action, QFile::decodeName(resolved));
}

// The innermost frame in the plugin's own files (where its author looks), else the innermost.
void PermissionHook::locate(QString *fileName, int *line) const
{
    PyFrameObject *innermost = PyEval_GetFrame(); // borrowed
    PyRef frame = PyRef::borrow(reinterpret_cast<PyObject *>(innermost));
    const QString prefix = m_pluginDirectoryText + QLatin1Char('/');
    while (frame) {
        auto *current = reinterpret_cast<PyFrameObject *>(frame.get());
        PyCodeObject *code = PyFrame_GetCode(current); // new reference
        QString file;
        Values::toQString(code->co_filename, &file);
        Py_DECREF(code);
        if (fileName->isEmpty() || file.startsWith(prefix)) {
            *fileName = file;
            *line = PyFrame_GetLineNumber(current);
            if (file.startsWith(prefix)) {
                break;
            }
        }
        frame = PyRef::steal(reinterpret_cast<PyObject *>(PyFrame_GetBack(current)));
    }
    PyErr_Clear();
}

PyObject *PermissionHook::deny(const QString &action, const Denial &denial) const
{
    QString message;
    if (denial.refused) {
        message = QStringLiteral("%1: %2 is refused: %3").arg(m_pluginId, action, denial.reason);
    } else {
        const QString permission = QString::fromLatin1(permissionNames[int(denial.permission)]);
        message = QStringLiteral("%1: %2 needs the \"%3\" permission%4; add \"%3\" to \"X-PluginHost-Permissions\" in %5")
                      .arg(m_pluginId, action, permission, denial.reason.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(denial.reason), m_metaDataFile);
    }
    QString fileName;
    int line = 0;
    locate(&fileName, &line);
    ModuleState *state = currentState();
    if (state && state->services) {
        state->services->log(HostServices::LogLevel::Warning, message, fileName, line);
    } else {
        qCWarning(PLUGINHOST_RUNTIME).noquote() << message; // the plugin is unloading
    }
    PyErr_SetString(m_permissionDenied, message.toUtf8().constData());
    return nullptr;
}

PyObject *auditEvent(PyObject *capsule, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        Py_RETURN_NONE;
    }
    // A compact ASCII str (every event name CPython raises) hands out its own bytes.
    const char *event = PyUnicode_AsUTF8AndSize(args[0], nullptr);
    if (!event) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    const Rule *rule = findRule(event);
    if (!rule || t_hostAction) {
        Py_RETURN_NONE;
    }
    auto *hook = static_cast<PermissionHook *>(PyCapsule_GetPointer(capsule, capsuleName));
    return hook ? hook->check(*rule, args[1]) : nullptr;
}

PyMethodDef hookDefinition = {
    "permission_hook",
    reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(auditEvent)),
    METH_FASTCALL,
    PyDoc_STR("permission_hook($self, event, args, /)\n--\n\n"
              "PluginHost's audit hook: raises PermissionDenied for what X-PluginHost-Permissions does not allow."),
};

void destroyHook(PyObject *capsule)
{
    delete static_cast<PermissionHook *>(PyCapsule_GetPointer(capsule, capsuleName));
}

PyObject *refuseForkExec(PyObject *capsule, PyObject *const *, Py_ssize_t)
{
    auto *hook = static_cast<PermissionHook *>(PyCapsule_GetPointer(capsule, capsuleName));
    return hook ? hook->refuseForkExec() : nullptr;
}

PyMethodDef refuseForkExecDefinition = {
    "fork_exec",
    reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(refuseForkExec)),
    METH_FASTCALL,
    PyDoc_STR("fork_exec($module, /, *args)\n--\n\nRefused: the plugin lacks the subprocess permission."),
};

/*
 * subprocess.Popen raises an audit event before it starts a program, but its C half,
 * _posixsubprocess.fork_exec(), raises none and an isolated interpreter does not refuse it:
 * called directly, it would start any program. Without the permission, the interpreter's
 * (per-interpreter) module gets a fork_exec() that refuses, before plugin code runs; importing
 * a fresh copy is refused by the hook.
 */
bool guardForkExec(PyObject *capsule)
{
    PyRef module = PyRef::steal(PyImport_ImportModule("_posixsubprocess"));
    if (!module) {
        PyErr_Clear(); // a platform without it starts no programs this way
        return true;
    }
    PyRef moduleName = PyRef::steal(PyUnicode_FromString("_posixsubprocess"));
    PyRef refusal = moduleName ? PyRef::steal(PyCFunction_NewEx(&refuseForkExecDefinition, capsule, moduleName.get())) : PyRef();
    return refusal && PyObject_SetAttrString(module.get(), "fork_exec", refusal.get()) == 0;
}

} // namespace

bool installAuditHook(HostServices &services, PyObject *permissionDenied)
{
    const HostServices::PermissionPolicy policy = services.permissionPolicy();
    if (!policy.enforced) {
        return true;
    }
    auto hook = std::make_unique<PermissionHook>(services, policy, permissionDenied);
    PyRef capsule = PyRef::steal(PyCapsule_New(hook.get(), capsuleName, destroyHook));
    if (!capsule) {
        return false;
    }
    const bool guardPrograms = !hook->mayStartPrograms();
    hook.release(); // the capsule owns it now
    if (guardPrograms && !guardForkExec(capsule.get())) {
        return false;
    }
    PyRef moduleName = PyRef::steal(PyUnicode_FromString("pluginhost"));
    PyRef function = moduleName ? PyRef::steal(PyCFunction_NewEx(&hookDefinition, capsule.get(), moduleName.get())) : PyRef();
    PyRef sys = function ? PyRef::steal(PyImport_ImportModule("sys")) : PyRef();
    PyRef added = sys ? PyRef::steal(PyObject_CallMethod(sys.get(), "addaudithook", "O", function.get())) : PyRef();
    return bool(added);
}

HostActionScope::HostActionScope()
    : m_outer(std::exchange(t_hostAction, true))
{
}

HostActionScope::~HostActionScope()
{
    t_hostAction = m_outer;
}

} // namespace Module
} // namespace PluginHost
