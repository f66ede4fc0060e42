// Permissions end to end: real plugins, each with another X-PluginHost-Permissions, try in their
// real subinterpreters what the permissions guard (permission × action → allowed or denied), also
// from threads they start. The profile database and other plugins' data stay out of reach of
// every one of them; a denial names the permission and where to add it, and is logged.
#include "futurehelpers.h"
#include "loghelpers.h"

#include <PluginHost/PluginManager>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <optional>

using namespace PluginHost;
using namespace PluginHost::Tests;

namespace
{
// The build assembles the fixtures: each plugin's metadata.json beside the one probe.py.
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_BUILT_DATA "/permissions");
const QStringList pluginNames{QStringLiteral("none"),
                              QStringLiteral("network"),
                              QStringLiteral("subprocess"),
                              QStringLiteral("filesystem"),
                              QStringLiteral("native"),
                              QStringLiteral("all")};
const QString otherPluginId = QStringLiteral("org.test.elsewhere");

QString idOf(const QString &pluginName)
{
    return QStringLiteral("org.test.permissions.") + pluginName;
}

bool grants(const QString &pluginName, const QString &permission)
{
    return pluginName == QLatin1String("all") || pluginName == permission;
}

QString metaDataFileOf(const QString &pluginName)
{
    return fixtures + QLatin1Char('/') + pluginName + QStringLiteral("/metadata.json");
}

// What probe(action, target) tries, and what guards it.
struct Action {
    const char *row;
    QString action;
    QString target; // {outside}, {profile}, {data}, {other} are filled in by the test; {data_dir},
                    // {directory}, {stdlib} by the plugin
    std::optional<QString> permission; // nullopt: allowed without any permission
    bool refused = false; // refused whatever the permissions
    bool inThread = false;
};

QList<Action> actions()
{
    const auto needs = [](const char *permission) {
        return std::optional<QString>(QString::fromLatin1(permission));
    };
    const std::optional<QString> always;
    const QString none;
    return {
        {"subprocess.run", QStringLiteral("subprocess.run"), none, needs("subprocess")},
        {"os.system", QStringLiteral("os.system"), none, needs("subprocess")},
        {"os.popen", QStringLiteral("os.popen"), none, needs("subprocess")},
        {"os.posix_spawn", QStringLiteral("os.posix_spawn"), none, needs("subprocess")},
        {"os.kill", QStringLiteral("os.kill"), none, needs("subprocess")},
        // A closed port refuses the connection: the host let it through all the same.
        {"socket.connect", QStringLiteral("socket.connect"), QStringLiteral("1"), needs("network")},
        {"socket.sendto", QStringLiteral("socket.sendto"), QStringLiteral("9"), needs("network")},
        {"socket.bind", QStringLiteral("socket.bind"), none, needs("network")},
        {"socket.getaddrinfo", QStringLiteral("socket.getaddrinfo"), none, needs("network")},
        {"socket.socketpair", QStringLiteral("socket.socketpair"), none, always},
        {"asyncio event loop", QStringLiteral("asyncio.new_event_loop"), none, always},
        {"read /etc/passwd", QStringLiteral("read"), QStringLiteral("/etc/passwd"), needs("filesystem")},
        {"write outside", QStringLiteral("write"), QStringLiteral("{outside}/written.txt"), needs("filesystem")},
        {"list outside", QStringLiteral("listdir"), QStringLiteral("{outside}"), needs("filesystem")},
        {"sqlite3 outside", QStringLiteral("sqlite3.connect"), QStringLiteral("{outside}/outside.sqlite"), needs("filesystem")},
        {"os.chdir", QStringLiteral("chdir"), none, needs("filesystem")},
        {"write data_dir", QStringLiteral("write"), QStringLiteral("{data_dir}/notes.txt"), always},
        {"read data_dir", QStringLiteral("read"), QStringLiteral("{data_dir}/notes.txt"), always},
        {"remove in data_dir", QStringLiteral("remove"), QStringLiteral("{data_dir}/notes.txt"), always},
        {"sqlite3 in data_dir", QStringLiteral("sqlite3.connect"), QStringLiteral("{data_dir}/own.sqlite"), always},
        {"shutil.rmtree in data_dir", QStringLiteral("shutil.rmtree"), none, always},
        {"dir_fd: link out of data_dir", QStringLiteral("symlink below data_dir"), QStringLiteral("/etc/passwd"), needs("filesystem")},
        {"dir_fd: link to profile database", QStringLiteral("symlink below data_dir"), QStringLiteral("{profile}/pluginhost.sqlite"), always, true},
        {"dir_fd: other plugin's data", QStringLiteral("open below data_dir"), QStringLiteral("../") + otherPluginId + QStringLiteral("/secret.txt"), always, true},
        {"read own folder", QStringLiteral("read"), QStringLiteral("{directory}/metadata.json"), always},
        {"list own folder", QStringLiteral("listdir"), QStringLiteral("{directory}"), always},
        {"read standard library", QStringLiteral("read"), QStringLiteral("{stdlib}/os.py"), always},
        {"read profile database", QStringLiteral("read"), QStringLiteral("{profile}/pluginhost.sqlite"), always, true},
        {"write profile database", QStringLiteral("write"), QStringLiteral("{profile}/pluginhost.sqlite"), always, true},
        {"read profile -wal", QStringLiteral("read"), QStringLiteral("{profile}/pluginhost.sqlite-wal"), always, true},
        {"read profile -shm", QStringLiteral("read"), QStringLiteral("{profile}/pluginhost.sqlite-shm"), always, true},
        {"sqlite3 profile database", QStringLiteral("sqlite3.connect"), QStringLiteral("{profile}/pluginhost.sqlite"), always, true},
        {"sqlite3 profile URI", QStringLiteral("sqlite3.connect"), QStringLiteral("file:{profile}/pluginhost.sqlite?mode=ro"), always, true},
        {"read other plugin's data", QStringLiteral("read"), QStringLiteral("{other}/secret.txt"), always, true},
        {"list other plugin's data", QStringLiteral("listdir"), QStringLiteral("{other}"), always, true},
        {"list every plugin's data", QStringLiteral("listdir"), QStringLiteral("{data}"), always, true},
        {"import ctypes", QStringLiteral("ctypes events"), none, needs("native")},
        {"sys.addaudithook", QStringLiteral("sys.addaudithook"), none, needs("native")},
        {"sys.settrace", QStringLiteral("sys.settrace"), none, needs("native")},
        // It would hand out other interpreters' frames: refused even with native.
        {"sys._current_frames", QStringLiteral("sys._current_frames"), none, always, true},
        {"thread: socket.connect", QStringLiteral("socket.connect"), QStringLiteral("1"), needs("network"), false, true},
        {"thread: os.system", QStringLiteral("os.system"), none, needs("subprocess"), false, true},
        {"thread: read /etc/passwd", QStringLiteral("read"), QStringLiteral("/etc/passwd"), needs("filesystem"), false, true},
        {"thread: read profile database", QStringLiteral("read"), QStringLiteral("{profile}/pluginhost.sqlite"), always, true, true},
        {"thread: sys.settrace", QStringLiteral("sys.settrace"), none, needs("native"), false, true},
    };
}
} // namespace

class PermissionsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void testPermissionMatrix_data();
    void testPermissionMatrix();
    void testDenialNamesPermissionAndMetaData();
    void testDenialIsAPermissionError();
    void testCtypesIsNotLoadedWithoutNative();
    void testSqliteCannotAttachProfileDatabase_data();
    void testSqliteCannotAttachProfileDatabase();
    void testStandardLibraryStillWorks();

private:
    QVariantList probe(const QString &pluginName, const QString &action, const QString &target, bool inThread = false);
    QString filledIn(QString target) const;

    QTemporaryDir m_root;
    PluginManager *m_manager = nullptr;
};

void PermissionsTest::initTestCase()
{
    LogCapture::install("pluginhost.plugin.");
    QVERIFY(m_root.isValid());
    QVERIFY(QDir(m_root.path()).mkpath(QStringLiteral("outside")));
    QVERIFY(QDir(m_root.path()).mkpath(QStringLiteral("data/") + otherPluginId));
    QFile secret(m_root.filePath(QStringLiteral("data/%1/secret.txt").arg(otherPluginId)));
    QVERIFY(secret.open(QIODevice::WriteOnly));
    secret.write("another plugin's data");
    secret.close();

    m_manager = new PluginManager(this);
    m_manager->setProfileDirectory(m_root.filePath(QStringLiteral("profile")));
    m_manager->setDataLocation(m_root.filePath(QStringLiteral("data")));
    m_manager->setSearchPaths({fixtures});
    m_manager->discover();
    QCOMPARE(m_manager->failures().size(), 0);
    for (const QString &name : pluginNames) {
        Plugin *plugin = m_manager->plugin(idOf(name));
        QVERIFY2(plugin, qPrintable(name));
        const QFuture<CallResult> loading = plugin->load();
        QVERIFY(settle(loading));
        QVERIFY2(loading.result(), qPrintable(loading.result().error().errorText()));
    }
    // The registry has written the load of each: the database and its WAL exist.
    QVERIFY(QFile::exists(m_root.filePath(QStringLiteral("profile/pluginhost.sqlite"))));
}

void PermissionsTest::cleanupTestCase()
{
    if (m_manager) {
        QVERIFY(settle(m_manager->unloadAll()));
    }
    LogCapture::uninstall();
}

QString PermissionsTest::filledIn(QString target) const
{
    target.replace(QLatin1String("{outside}"), m_root.filePath(QStringLiteral("outside")));
    target.replace(QLatin1String("{profile}"), m_root.filePath(QStringLiteral("profile")));
    target.replace(QLatin1String("{other}"), m_root.filePath(QStringLiteral("data/") + otherPluginId));
    target.replace(QLatin1String("{data}"), m_root.filePath(QStringLiteral("data")));
    return target;
}

QVariantList PermissionsTest::probe(const QString &pluginName, const QString &action, const QString &target, bool inThread)
{
    const CallResult result = resultOf(m_manager->plugin(idOf(pluginName))->call(QStringLiteral("probe"), {action, filledIn(target), inThread}));
    if (!result) {
        qWarning().noquote() << "probe" << action << "failed:" << result.error().errorText();
    }
    return result.value().toList();
}

void PermissionsTest::testPermissionMatrix_data()
{
    QTest::addColumn<QString>("plugin");
    QTest::addColumn<QString>("action");
    QTest::addColumn<QString>("target");
    QTest::addColumn<bool>("inThread");
    QTest::addColumn<bool>("allowed");
    QTest::addColumn<QStringList>("denial"); // parts of the message when denied

    for (const Action &action : actions()) {
        for (const QString &plugin : pluginNames) {
            const bool allowed = !action.refused && (!action.permission || grants(plugin, *action.permission));
            QStringList denial;
            if (action.refused) {
                denial = QStringList{QStringLiteral(" is refused: ")};
            } else if (!allowed) {
                denial = QStringList{QStringLiteral("needs the \"%1\" permission").arg(*action.permission),
                                     QStringLiteral("; add \"%1\" to \"X-PluginHost-Permissions\" in %2").arg(*action.permission, metaDataFileOf(plugin))};
            }
            QTest::addRow("%s, %s", action.row, qPrintable(plugin)) << plugin << action.action << action.target << action.inThread << allowed << denial;
        }
    }
}

void PermissionsTest::testPermissionMatrix()
{
    QFETCH(QString, plugin);
    QFETCH(QString, action);
    QFETCH(QString, target);
    QFETCH(bool, inThread);
    QFETCH(bool, allowed);
    QFETCH(QStringList, denial);

    LogCapture::take();
    const QVariantList outcome = probe(plugin, action, target, inThread);
    const QString verdict = outcome.value(0).toString();
    const QString message = outcome.value(1).toString();
    QVERIFY2(verdict == (allowed ? QLatin1String("allowed") : QLatin1String("denied")), qPrintable(QStringLiteral("%1: %2").arg(verdict, message)));
    if (allowed) {
        return;
    }
    // The denial is logged as a warning in the plugin's category, with the same text as the
    // exception (sys.addaudithook's is swallowed by CPython: only the log has it).
    const QString category = QStringLiteral("pluginhost.plugin.") + idOf(plugin);
    QString logged;
    for (const LogEntry &entry : LogCapture::take()) {
        if (entry.type == QtWarningMsg && entry.category == category && entry.message.startsWith(idOf(plugin) + QLatin1String(": "))) {
            logged = entry.message;
        }
    }
    QVERIFY2(!logged.isEmpty(), "the denial was not logged");
    if (action != QLatin1String("sys.addaudithook")) {
        QCOMPARE(message, logged);
    }
    for (const QString &part : std::as_const(denial)) {
        QVERIFY2(logged.contains(part), qPrintable(logged));
    }
}

void PermissionsTest::testDenialNamesPermissionAndMetaData()
{
    LogCapture::take();
    const QVariantList outcome = probe(QStringLiteral("none"), QStringLiteral("socket.connect"), QStringLiteral("1"));
    const QString expected = QStringLiteral(
                                 "org.test.permissions.none: socket.connect to ('127.0.0.1', 1) needs the \"network\" permission; add \"network\" to "
                                 "\"X-PluginHost-Permissions\" in %1")
                                 .arg(metaDataFileOf(QStringLiteral("none")));
    QCOMPARE(outcome, (QVariantList{QStringLiteral("denied"), expected}));

    // Logged where the plugin's own code made the call.
    const QList<LogEntry> logs = LogCapture::take();
    const auto entry = std::find_if(logs.cbegin(), logs.cend(), [&expected](const LogEntry &logged) {
        return logged.message == expected;
    });
    QVERIFY(entry != logs.cend());
    QCOMPARE(entry->type, QtWarningMsg);
    QCOMPARE(entry->category, QStringLiteral("pluginhost.plugin.org.test.permissions.none"));
    QCOMPARE(entry->file, fixtures + QStringLiteral("/none/probe.py"));
    QVERIFY(entry->line > 0);

    // A path says where it really leads when that is not what the plugin wrote.
    const QVariantList relative = probe(QStringLiteral("none"), QStringLiteral("read"), QStringLiteral("{directory}") + QStringLiteral("/..").repeated(30) + QStringLiteral("/etc/passwd"));
    QCOMPARE(relative.value(0).toString(), QStringLiteral("denied"));
    QVERIFY2(relative.value(1).toString().contains(QLatin1String(" for reading (that is /etc/passwd) needs the \"filesystem\" permission")),
             qPrintable(relative.value(1).toString()));
}

void PermissionsTest::testDenialIsAPermissionError()
{
    const QVariantList outcome = probe(QStringLiteral("none"), QStringLiteral("denial_types"), QString());
    QCOMPARE(outcome.value(0).toString(), QStringLiteral("allowed"));
    const QStringList types = outcome.value(1).toString().split(QLatin1Char(' '));
    QVERIFY2(types.contains(QLatin1String("PermissionDenied")) && types.contains(QLatin1String("PluginError")) && types.contains(QLatin1String("PermissionError"))
                 && types.contains(QLatin1String("OSError")),
             qPrintable(types.join(QLatin1Char(' '))));
}

void PermissionsTest::testCtypesIsNotLoadedWithoutNative()
{
    // The matrix raises ctypes' audit events without loading it (see probe.py); here the real
    // import, refused before any of ctypes runs.
    const QVariantList outcome = probe(QStringLiteral("none"), QStringLiteral("ctypes.CDLL"), QString());
    QCOMPARE(outcome.value(0).toString(), QStringLiteral("denied"));
    QVERIFY2(outcome.value(1).toString().startsWith(QLatin1String("org.test.permissions.none: import ctypes needs the \"native\" permission")),
             qPrintable(outcome.value(1).toString()));
    QCOMPARE(probe(QStringLiteral("none"), QStringLiteral("modules"), QString()), (QVariantList{QStringLiteral("allowed"), QString()}));
}

void PermissionsTest::testSqliteCannotAttachProfileDatabase_data()
{
    QTest::addColumn<QString>("plugin");
    for (const QString &plugin : pluginNames) {
        QTest::addRow("%s", qPrintable(plugin)) << plugin;
    }
}

void PermissionsTest::testSqliteCannotAttachProfileDatabase()
{
    // ATTACH DATABASE opens a file without an audit event: SQLite itself refuses the profile
    // database (and its -wal) to every connection in the process but the host's.
    QFETCH(QString, plugin);
    for (const QString &file : {QStringLiteral("pluginhost.sqlite"), QStringLiteral("pluginhost.sqlite-wal")}) {
        const QVariantList outcome = probe(plugin, QStringLiteral("sqlite3.attach"), QStringLiteral("{profile}/") + file);
        QCOMPARE(outcome.value(0).toString(), QStringLiteral("failed"));
        QVERIFY2(outcome.value(1).toString().startsWith(QLatin1String("OperationalError: unable to open database")), qPrintable(outcome.value(1).toString()));
    }
    // Other files attach as before; the host's storage works on.
    QCOMPARE(probe(plugin, QStringLiteral("sqlite3.attach"), QStringLiteral("{data_dir}/attached.sqlite")).value(0).toString(), QStringLiteral("allowed"));
    const CallResult stored = resultOf(m_manager->plugin(idOf(plugin))->call(QStringLiteral("remember"), {plugin}));
    QVERIFY2(stored, qPrintable(stored.error().errorText()));
    QCOMPARE(stored.value().toString(), plugin);
}

void PermissionsTest::testStandardLibraryStillWorks()
{
    // Without any permission: imports (compiled and extension modules), the time zone and MIME
    // tables the standard library reads, an in-memory database, an event loop.
    const QVariantList outcome = probe(QStringLiteral("none"), QStringLiteral("standard_library"), QString());
    QVERIFY2(outcome == (QVariantList{QStringLiteral("allowed"), QString()}), qPrintable(outcome.value(1).toString()));
}

QTEST_GUILESS_MAIN(PermissionsTest)

#include "permissionstest.moc"
