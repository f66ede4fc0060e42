// The profile database end to end, with real plugins in real subinterpreters: pluginhost.storage
// (the mapping, transactions and what they make others wait for, values, namespaces, limits),
// the registry (enabled, loads, errors),
// state persisted across restarts, and the bad conditions: a corrupt file, a folder that cannot
// be written, a full disk, a database locked by another process, a writer killed with SIGKILL.
#include "futurehelpers.h"

#include "storage/databaseguard.h"
#include "storage/profiledatabase.h"

#include <PluginHost/Buffer>
#include <PluginHost/PluginManager>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <csignal>
#include <sys/resource.h>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/storage");
const QString keeperId = QStringLiteral("org.test.keeper");
const QString otherId = QStringLiteral("org.test.other");
const QString persistingId = QStringLiteral("org.test.persisting");
const QString dormantId = QStringLiteral("org.test.dormant");
const QString failingId = QStringLiteral("org.test.failing");
const QString holderId = QStringLiteral("org.test.holder");

// "holder.py:<line> in <function>", the line of holder.py marked "opened here: <function>".
QString openedAt(const QString &function)
{
    QFile file(fixtures + QStringLiteral("/holder/holder.py"));
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
        return QStringLiteral("holder.py unreadable");
    }
    const QByteArray marker = "# opened here: " + function.toUtf8();
    for (int line = 1; !file.atEnd(); ++line) {
        if (file.readLine().trimmed().endsWith(marker)) {
            return QStringLiteral("holder.py:%1 in %2").arg(line).arg(function);
        }
    }
    return QStringLiteral("no line of holder.py is marked for ") + function;
}

// A warning that names `pluginId` and the place `openedAt` (a path ends with it).
QRegularExpression reportOf(const QString &pluginId, const QString &openedAt, const QString &rest)
{
    return QRegularExpression(QRegularExpression::escape(pluginId) + QStringLiteral(".*/") + QRegularExpression::escape(openedAt) + QStringLiteral(".*")
                              + QRegularExpression::escape(rest));
}

// What another connection, opened now, finds in the file for `space`/`key`.
QVariant freshRead(const QString &profile, const QString &space, const QString &key)
{
    ProfileDatabase database(profile + QStringLiteral("/pluginhost.sqlite"));
    QVariant value;
    bool found = false;
    if (database.value(space, key, &value, &found).isError()) {
        return QStringLiteral("error");
    }
    return found ? value : QVariant();
}

// One run of the application: a manager on `profile`, torn down (plugins unloaded) when it goes.
class Session
{
public:
    explicit Session(const QString &profile)
    {
        manager.setProfileDirectory(profile);
        manager.setSearchPaths({fixtures});
        manager.discover();
    }

    Plugin *plugin(const QString &id) const
    {
        return manager.plugin(id);
    }

    bool load(const QString &id)
    {
        const QFuture<CallResult> loading = plugin(id)->load();
        if (!settle(loading) || !loading.result()) {
            qWarning().noquote() << "loading" << id << "failed:" << (loading.isFinished() ? loading.result().error().errorText() : QStringLiteral("timeout"));
            return false;
        }
        return true;
    }

    CallResult call(const QString &id, const QString &function, const QVariantList &arguments = {})
    {
        return resultOf(plugin(id)->call(function, arguments));
    }

    QVariant value(const QString &id, const QString &function, const QVariantList &arguments = {})
    {
        const CallResult result = call(id, function, arguments);
        if (!result) {
            qWarning().noquote() << function << "failed:" << result.error().errorText();
        }
        return result.value();
    }

    PluginManager manager;
};

// The result of keeper's attempt()/attempt_expression(): ["ok", value] or ["error", type, message].
struct Attempt {
    QString status;
    QString type;
    QString message;
    QVariant value;
};

Attempt attempt(Session &session, const QString &id, const QString &function, const QVariantList &arguments)
{
    const QVariantList outcome = session.value(id, function, arguments).toList();
    Attempt result;
    result.status = outcome.value(0).toString();
    if (result.status == QLatin1String("ok")) {
        result.value = outcome.value(1);
    } else {
        result.type = outcome.value(1).toString();
        result.message = outcome.value(2).toString();
    }
    return result;
}

QString sqliteText(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *statement = nullptr;
    QString text;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW) {
        text = QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(statement, 0)));
    } else {
        text = QStringLiteral("error: ") + QString::fromUtf8(sqlite3_errmsg(db));
    }
    sqlite3_finalize(statement);
    return text;
}

// Starts storagehelper and waits for its first line on stdout.
bool startHelper(QProcess &process, const QStringList &arguments)
{
    process.setProcessChannelMode(QProcess::SeparateChannels);
    process.start(QStringLiteral(PLUGINHOST_STORAGE_HELPER), arguments);
    if (!process.waitForStarted(10000)) {
        return false;
    }
    QElapsedTimer waited;
    waited.start();
    while (!process.canReadLine() && waited.elapsed() < 30000 && process.state() == QProcess::Running) {
        process.waitForReadyRead(100);
    }
    return process.canReadLine();
}
} // namespace

class StorageTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();

    void testMappingInterface();
    void testValuesRoundTripExactly();
    void testUnsupportedValuesNameTheirPosition();
    void testHugeValues();
    void testBuffersAreStoredAsBytes();
    void testTransactions();
    void testReadsInsideTransactions();
    void testOpenTransactionMakesNoOneWait();
    void testTransactionOpenDuringACallMakesNoOneWait();
    void testDroppedTransactionIsRolledBackAndReported();
    void testTransactionSizeLimit();
    void testKeyLimit();
    void testPluginsReachOnlyTheirOwnKeys();
    void testValuesSurviveReloadAndRestart();
    void testRegistryRecordsLoads();
    void testEnabledIsPersistedAndRespected();
    void testStateIsPersistedOnlyWhenOptedIn();
    void testCorruptDatabaseIsMovedAside();
    void testUnwritableLocationKeepsEverythingElseWorking();
    void testDiskFull();
    void testLockedByAnotherProcess();
    void testCommittedValuesSurviveSigkill();

private:
    std::unique_ptr<QTemporaryDir> m_profile;
};

void StorageTest::init()
{
    m_profile = std::make_unique<QTemporaryDir>();
    QVERIFY(m_profile->isValid());
}

void StorageTest::testMappingInterface()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));

    QCOMPARE(session.value(keeperId, QStringLiteral("length")).toLongLong(), 0);
    QCOMPARE(session.value(keeperId, QStringLiteral("has"), {QStringLiteral("b")}).toBool(), false);
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("b"), 2}));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("a"), QStringLiteral("one")}));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("b"), 3})); // replaces
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("b")}), QVariant(3LL));
    QCOMPARE(session.value(keeperId, QStringLiteral("has"), {QStringLiteral("b")}).toBool(), true);
    QCOMPARE(session.value(keeperId, QStringLiteral("length")).toLongLong(), 2);
    QCOMPARE(session.value(keeperId, QStringLiteral("keys")).toStringList(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    QCOMPARE(session.value(keeperId, QStringLiteral("iterated")).toStringList(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    QCOMPARE(session.value(keeperId, QStringLiteral("items")).toList(),
             (QVariantList{QVariantList{QStringLiteral("a"), QStringLiteral("one")}, QVariantList{QStringLiteral("b"), 3LL}}));
    QCOMPARE(session.value(keeperId, QStringLiteral("get_or"), {QStringLiteral("zzz"), QStringLiteral("fallback")}), QVariant(QStringLiteral("fallback")));

    QVERIFY(session.call(keeperId, QStringLiteral("remove"), {QStringLiteral("a")}));
    QCOMPARE(session.value(keeperId, QStringLiteral("keys")).toStringList(), QStringList{QStringLiteral("b")});

    const Attempt missing = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("get"), QStringLiteral("a")});
    QCOMPARE(missing.type, QStringLiteral("builtins.KeyError"));
    QCOMPARE(missing.message, QStringLiteral("'a'"));
    const Attempt missingDelete = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("remove"), QStringLiteral("a")});
    QCOMPARE(missingDelete.type, QStringLiteral("builtins.KeyError"));

    const Attempt intKey = attempt(session, keeperId, QStringLiteral("attempt_expression"), {QStringLiteral("storage[3]")});
    QCOMPARE(intKey.type, QStringLiteral("builtins.TypeError"));
    QCOMPARE(intKey.message, QStringLiteral("storage keys are str, not int"));
    const Attempt bytesKey = attempt(session, keeperId, QStringLiteral("attempt_expression"), {QStringLiteral("b'b' in storage")});
    QCOMPARE(bytesKey.type, QStringLiteral("builtins.TypeError"));
    const Attempt instantiate = attempt(session, keeperId, QStringLiteral("attempt_expression"), {QStringLiteral("type(storage)()")});
    QCOMPARE(instantiate.type, QStringLiteral("builtins.TypeError"));
}

void StorageTest::testValuesRoundTripExactly()
{
    {
        Session session(m_profile->path());
        QVERIFY(session.load(keeperId));
        QVERIFY(session.call(keeperId, QStringLiteral("store_round_trips")));
        QCOMPARE(session.value(keeperId, QStringLiteral("check_round_trips")).toStringList(), QStringList());
    }
    // Read back by a fresh interpreter of a fresh session: the values came from the file.
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    QCOMPARE(session.value(keeperId, QStringLiteral("check_round_trips")).toStringList(), QStringList());
    // And to the host, as the values that cross interpreters: bytes stay bytes, str stays str.
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("rt.bytes")}).typeId(), QMetaType::QByteArray);
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("rt.str")}).typeId(), QMetaType::QString);
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("rt.int64_min")}), QVariant(std::numeric_limits<qlonglong>::min()));
}

void StorageTest::testUnsupportedValuesNameTheirPosition()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    const Attempt unsupported =
        attempt(session, keeperId, QStringLiteral("attempt_expression"), {QStringLiteral("storage.__setitem__('cover', {'art': [1, object()]})")});
    QCOMPARE(unsupported.type, QStringLiteral("builtins.TypeError"));
    QVERIFY2(unsupported.message.contains(QLatin1String("storage['cover'][\"art\"][1]")), qPrintable(unsupported.message));
    QVERIFY2(unsupported.message.contains(QLatin1String("object")), qPrintable(unsupported.message));
    const Attempt tooBig = attempt(session, keeperId, QStringLiteral("attempt_expression"), {QStringLiteral("storage.__setitem__('n', 2**64)")});
    QCOMPARE(tooBig.type, QStringLiteral("builtins.OverflowError"));
    QCOMPARE(session.value(keeperId, QStringLiteral("length")).toLongLong(), 0); // nothing half-stored
}

void StorageTest::testHugeValues()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    const qsizetype limit = ProfileDatabase::maximumValueSize;
    QCOMPARE(limit, 16 * 1024 * 1024);
    // CBOR adds a header of a few bytes to a byte string.
    QVERIFY(session.call(keeperId, QStringLiteral("put_huge"), {limit - 16}));
    const Attempt huge = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("put_huge"), limit + 1});
    QCOMPARE(huge.type, QStringLiteral("builtins.ValueError"));
    QVERIFY2(huge.message.contains(QLatin1String("at most 16 MiB per value")), qPrintable(huge.message));
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("huge")}).toByteArray().size(), limit - 16); // the old value stays
}

void StorageTest::testBuffersAreStoredAsBytes()
{
    // A pluginhost.Buffer is shared memory while it crosses; the store keeps its bytes.
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    const QByteArray bytes("\x00\x01frame\xff", 8);
    const QVariant buffer = QVariant::fromValue(Buffer(bytes));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("blob"), buffer}));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("blobs"), QVariantMap{{QStringLiteral("frames"), QVariantList{buffer, 1}}}}));
    const QVariant stored = session.value(keeperId, QStringLiteral("get"), {QStringLiteral("blob")});
    QCOMPARE(stored.typeId(), QMetaType::QByteArray);
    QCOMPARE(stored.toByteArray(), bytes);
    const QVariantList frames = session.value(keeperId, QStringLiteral("get"), {QStringLiteral("blobs")}).toMap().value(QStringLiteral("frames")).toList();
    QCOMPARE(frames.size(), 2);
    QCOMPARE(frames.at(0).typeId(), QMetaType::QByteArray);
    QCOMPARE(frames.at(0).toByteArray(), bytes);
}

void StorageTest::testTransactions()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    const QVariantList pairs{QVariantList{QStringLiteral("t1"), 1}, QVariantList{QStringLiteral("t2"), 2}};
    QCOMPARE(session.value(keeperId, QStringLiteral("transaction"), {pairs, true}).toString(), QStringLiteral("rolled back"));
    QCOMPARE(session.value(keeperId, QStringLiteral("keys")).toStringList(), QStringList());
    QCOMPARE(session.value(keeperId, QStringLiteral("transaction"), {pairs, false}).toString(), QStringLiteral("committed"));
    QCOMPARE(session.value(keeperId, QStringLiteral("keys")).toStringList(), (QStringList{QStringLiteral("t1"), QStringLiteral("t2")}));

    QCOMPARE(session.value(keeperId, QStringLiteral("nested"), {true}).toList(), (QVariantList{1LL, QVariant()}));
    QCOMPARE(session.value(keeperId, QStringLiteral("nested"), {false}).toList(), (QVariantList{1LL, 2LL}));

    const QVariantList reused = session.value(keeperId, QStringLiteral("transaction_reused")).toList();
    QCOMPARE(reused.value(1).toString(), QStringLiteral("builtins.RuntimeError"));
    // A transaction belongs to the thread that entered it: exited elsewhere, it stays open.
    const QVariantList elsewhere = session.value(keeperId, QStringLiteral("transaction_exited_elsewhere")).toList();
    QCOMPARE(elsewhere.value(1).toString(), QStringLiteral("builtins.RuntimeError"));
    QVERIFY2(elsewhere.value(2).toString().contains(QLatin1String("thread that entered it")), qPrintable(elsewhere.value(2).toString()));
    QCOMPARE(elsewhere.value(3), QVariant(1LL));

    // A committed transaction is in the file, for another connection to see.
    const DatabaseGuard::HostAccess host; // in this process SQLite keeps the profile to the host
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open_v2(QFile::encodeName(m_profile->filePath(QStringLiteral("pluginhost.sqlite"))).constData(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    QCOMPARE(sqliteText(db, "SELECT count(*) FROM plugin_values WHERE plugin = 'org.test.keeper' AND key IN ('t1', 't2', 'outer', 'inner')"), QStringLiteral("4"));
    QCOMPARE(sqliteText(db, "PRAGMA journal_mode"), QStringLiteral("wal"));
    QCOMPARE(sqliteText(db, "PRAGMA user_version"), QString::number(ProfileDatabase::schemaVersion));
    sqlite3_close(db);
}

void StorageTest::testReadsInsideTransactions()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    const QVariantList views = session.value(keeperId, QStringLiteral("views_in_transactions")).toList();
    QCOMPARE(views.size(), 4);
    const auto view = [](const QStringList &keys, const QVariant &kept, bool gone) {
        return QVariantMap{{QStringLiteral("keys"), QVariant(keys).toList()},
                           {QStringLiteral("len"), qlonglong(keys.size())},
                           {QStringLiteral("kept"), kept},
                           {QStringLiteral("gone"), gone}};
    };
    const QString added = QStringLiteral("added");
    const QString kept = QStringLiteral("kept");
    const QString inner = QStringLiteral("inner");
    // Inside: its own writes and removals, before anything is committed.
    QCOMPARE(views.at(0).toMap(), view({added, kept}, QStringLiteral("new"), false));
    // Inside a nested one: the writes of both levels.
    QCOMPARE(views.at(1).toMap(), view({inner, kept}, QStringLiteral("inner"), false));
    // The nested one rolled back: the outer one's writes are back, the inner one's gone.
    QCOMPARE(views.at(2).toMap(), view({added, kept}, QStringLiteral("new"), false));
    // Committed: the same, now from the database.
    QCOMPARE(views.at(3).toMap(), view({added, kept}, QStringLiteral("new"), false));
    QCOMPARE(freshRead(m_profile->path(), keeperId, kept), QVariant(QStringLiteral("new")));
    QCOMPARE(freshRead(m_profile->path(), keeperId, inner), QVariant());
}

void StorageTest::testOpenTransactionMakesNoOneWait()
{
    Session session(m_profile->path());
    QVERIFY(session.load(holderId));
    QVERIFY(session.load(keeperId));

    // The holder returns from the call with its transaction open, and it stays open.
    QCOMPARE(session.value(holderId, QStringLiteral("hold"), {QStringLiteral("held"), QStringLiteral("pending")}), QVariant(QStringLiteral("pending")));

    // Meanwhile another plugin writes and commits, and the registry is written.
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("k"), 1}));
    const QVariantList pairs{QVariantList{QStringLiteral("t"), 2}};
    QCOMPARE(session.value(keeperId, QStringLiteral("transaction"), {pairs, false}).toString(), QStringLiteral("committed"));
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("k")}), QVariant(1LL));
    QCOMPARE(freshRead(m_profile->path(), keeperId, QStringLiteral("k")), QVariant(1LL));
    QCOMPARE(freshRead(m_profile->path(), keeperId, QStringLiteral("t")), QVariant(2LL));
    QVERIFY(!session.plugin(dormantId)->setEnabled(true).isError());
    QVERIFY(session.load(dormantId));
    QCOMPARE(session.plugin(dormantId)->record().loads, 1);
    QCOMPARE(freshRead(m_profile->path(), holderId, QStringLiteral("held")), QVariant()); // not committed

    // All of that happened while the holder's transaction was open: it still sees its write.
    QCOMPARE(session.value(holderId, QStringLiteral("read"), {QStringLiteral("held")}), QVariant(QStringLiteral("pending")));

    // Unloaded with it open: rolled back, and reported with the plugin and where it was opened.
    QTest::ignoreMessage(QtWarningMsg, reportOf(holderId, openedAt(QStringLiteral("hold")), QStringLiteral("still open; its writes were rolled back")));
    const QFuture<CallResult> unloading = session.plugin(holderId)->unload();
    QVERIFY(settle(unloading));
    QCOMPARE(freshRead(m_profile->path(), holderId, QStringLiteral("held")), QVariant());
    QVERIFY(session.load(holderId));
    QCOMPARE(session.value(holderId, QStringLiteral("read"), {QStringLiteral("held")}), QVariant());
}

void StorageTest::testTransactionOpenDuringACallMakesNoOneWait()
{
    Session session(m_profile->path());
    QVERIFY(session.load(holderId));
    QVERIFY(session.load(keeperId));
    QSignalSpy events(&session.manager, &PluginManager::eventEmitted);
    QFuture<QVariant> holding = session.plugin(holderId)->call(QStringLiteral("hold_while_sleeping"), {QStringLiteral("slept"), 1});
    QTRY_VERIFY_WITH_TIMEOUT(!events.isEmpty(), 30000); // inside the with block, sleeping

    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("k"), 1}));
    QCOMPARE(freshRead(m_profile->path(), keeperId, QStringLiteral("k")), QVariant(1LL));
    QVERIFY(!session.plugin(dormantId)->setEnabled(true).isError());
    QVERIFY(!holding.isFinished()); // the holder's transaction is still open

    // Cancelled in the with block: the transaction rolls back as the exception leaves it.
    holding.cancel();
    QVERIFY(settle(holding));
    QCOMPARE(session.value(holderId, QStringLiteral("read"), {QStringLiteral("slept")}), QVariant());
    QCOMPARE(freshRead(m_profile->path(), holderId, QStringLiteral("slept")), QVariant());
}

void StorageTest::testDroppedTransactionIsRolledBackAndReported()
{
    Session session(m_profile->path());
    QVERIFY(session.load(holderId));
    QTest::ignoreMessage(QtWarningMsg, reportOf(holderId, openedAt(QStringLiteral("drop_open")), QStringLiteral("dropped without being exited")));
    QCOMPARE(session.value(holderId, QStringLiteral("drop_open"), {QStringLiteral("dropped")}), QVariant(false));
    QCOMPARE(freshRead(m_profile->path(), holderId, QStringLiteral("dropped")), QVariant());
}

void StorageTest::testTransactionSizeLimit()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    QCOMPARE(ProfileDatabase::maximumTransactionSize, 64 * 1024 * 1024);
    constexpr int size = 15 * 1024 * 1024;
    // The fifth value would take the transaction past 64 MiB: refused, and the block rolls back.
    const QVariantList refused = session.value(keeperId, QStringLiteral("fill_transaction"), {5, size}).toList();
    QCOMPARE(refused.value(0).toString(), QStringLiteral("error"));
    const QString message = refused.value(1).toString();
    QVERIFY2(message.contains(QLatin1String("'fill4'")) && message.contains(QLatin1String("at most 64 MiB")), qPrintable(message));
    QCOMPARE(refused.value(2).toStringList(), QStringList());
    // Four fit, and commit.
    QCOMPARE(session.value(keeperId, QStringLiteral("fill_transaction"), {4, size}).toList(), QVariantList{QStringLiteral("ok")});
    QCOMPARE(freshRead(m_profile->path(), keeperId, QStringLiteral("fill3")).toByteArray().size(), size);
}

void StorageTest::testKeyLimit()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    QCOMPARE(ProfileDatabase::maximumKeySize, 1024);
    const QString longest(1024, QLatin1Char('k'));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {longest, 1}));
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {longest}), QVariant(1LL));

    // One byte more, counted in UTF-8 (513 "é" are 1026 bytes), or far more.
    for (const QString &key : {QString(1025, QLatin1Char('k')), QString(513, QChar(0xe9)), QString(4 * 1024 * 1024, QLatin1Char('k'))}) {
        for (const QString &operation : {QStringLiteral("put"), QStringLiteral("get"), QStringLiteral("remove")}) {
            const QVariantList arguments = operation == QLatin1String("put") ? QVariantList{operation, key, 1} : QVariantList{operation, key};
            const Attempt tooLong = attempt(session, keeperId, QStringLiteral("attempt"), arguments);
            QCOMPARE(tooLong.type, QStringLiteral("builtins.ValueError"));
            QVERIFY2(tooLong.message.contains(QLatin1String("at most 1024 bytes")), qPrintable(tooLong.message));
            QVERIFY2(tooLong.message.contains(QLatin1Char('\'') + key.left(32)), qPrintable(tooLong.message)); // names the key by its start
            QVERIFY2(tooLong.message.size() < 300, qPrintable(tooLong.message.left(300)));
        }
    }
    const Attempt inTransaction =
        attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("transaction"), QVariantList{QVariantList{QString(2000, QLatin1Char('t')), 1}}, false});
    QCOMPARE(inTransaction.type, QStringLiteral("builtins.ValueError"));
    QCOMPARE(session.value(keeperId, QStringLiteral("keys")).toStringList(), QStringList{longest});
}

void StorageTest::testPluginsReachOnlyTheirOwnKeys()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    QVERIFY(session.load(otherId));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("shared"), QStringLiteral("keeper's")}));
    QVERIFY(session.call(otherId, QStringLiteral("put"), {QStringLiteral("shared"), QStringLiteral("other's")}));
    QVERIFY(session.call(otherId, QStringLiteral("put"), {QStringLiteral("only-other"), 1}));
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("shared")}).toString(), QStringLiteral("keeper's"));
    QCOMPARE(session.value(otherId, QStringLiteral("get"), {QStringLiteral("shared")}).toString(), QStringLiteral("other's"));
    QCOMPARE(session.value(keeperId, QStringLiteral("keys")).toStringList(), QStringList{QStringLiteral("shared")});
    QCOMPARE(session.value(keeperId, QStringLiteral("has"), {QStringLiteral("only-other")}).toBool(), false);

    // Nothing a plugin can reach through storage takes a plugin id or a namespace: its public
    // names are these, and their parameters are only keys and defaults.
    const QVariantMap api = session.value(keeperId, QStringLiteral("api")).toMap();
    QCOMPARE(api.keys(), (QStringList{QStringLiteral("get"), QStringLiteral("items"), QStringLiteral("keys"), QStringLiteral("transaction")}));
    QCOMPARE(api.value(QStringLiteral("get")).toStringList(), (QStringList{QStringLiteral("key"), QStringLiteral("default")}));
    QCOMPARE(api.value(QStringLiteral("items")).toStringList(), QStringList());
    QCOMPARE(api.value(QStringLiteral("keys")).toStringList(), QStringList());
    QCOMPARE(api.value(QStringLiteral("transaction")).toStringList(), QStringList());
    // A key that looks like another plugin's namespace is just a key of this plugin's.
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("org.test.other/shared"), 5}));
    QCOMPARE(session.value(otherId, QStringLiteral("get"), {QStringLiteral("shared")}).toString(), QStringLiteral("other's"));
}

void StorageTest::testValuesSurviveReloadAndRestart()
{
    {
        Session session(m_profile->path());
        QVERIFY(session.load(keeperId));
        QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("kept"), QVariantMap{{QStringLiteral("n"), 7}}}));
        const QFuture<CallResult> reloading = session.plugin(keeperId)->reload();
        QVERIFY(settle(reloading));
        QVERIFY(reloading.result());
        QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("kept")}).toMap().value(QStringLiteral("n")), QVariant(7LL));
    }
    Session restarted(m_profile->path());
    QVERIFY(restarted.load(keeperId));
    QCOMPARE(restarted.value(keeperId, QStringLiteral("get"), {QStringLiteral("kept")}).toMap().value(QStringLiteral("n")), QVariant(7LL));
}

void StorageTest::testRegistryRecordsLoads()
{
    {
        Session session(m_profile->path());
        QCOMPARE(session.plugin(keeperId)->record().loads, 0);
        QVERIFY(session.load(keeperId));
        const QFuture<CallResult> reloading = session.plugin(keeperId)->reload();
        QVERIFY(settle(reloading));
        const QFuture<CallResult> failing = session.plugin(failingId)->load();
        QVERIFY(settle(failing));
        QVERIFY(!failing.result());
    }
    Session session(m_profile->path());
    const PluginRecord keeper = session.plugin(keeperId)->record();
    QCOMPARE(keeper.loads, 1);
    QCOMPARE(keeper.reloads, 1);
    QCOMPARE(keeper.lastVersion, QStringLiteral("1.0.0"));
    QCOMPARE(keeper.lastResult, QStringLiteral("loaded"));
    QVERIFY(keeper.lastError.isEmpty());
    QVERIFY(keeper.lastLoadTime.isValid());
    QVERIFY(qAbs(keeper.lastLoadTime.secsTo(QDateTime::currentDateTimeUtc())) < 300);

    const PluginRecord failing = session.plugin(failingId)->record();
    QCOMPARE(failing.lastResult, QStringLiteral("failed"));
    QCOMPARE(failing.lastVersion, QStringLiteral("3.1.0"));
    QVERIFY2(failing.lastError.contains(QLatin1String("failing.py does not want to load")), qPrintable(failing.lastError));

    QCOMPARE(session.plugin(dormantId)->record().loads, 0);
}

void StorageTest::testEnabledIsPersistedAndRespected()
{
    {
        Session session(m_profile->path());
        QCOMPARE(session.plugin(keeperId)->isEnabled(), true); // EnabledByDefault
        QCOMPARE(session.plugin(dormantId)->isEnabled(), false);
        QVERIFY(!session.plugin(keeperId)->setEnabled(false).isError());
        QVERIFY(!session.plugin(dormantId)->setEnabled(true).isError());
        QCOMPARE(session.plugin(keeperId)->isEnabled(), false);
    }
    Session session(m_profile->path());
    QCOMPARE(session.plugin(keeperId)->isEnabled(), false);
    QCOMPARE(session.plugin(dormantId)->isEnabled(), true);
    const QFuture<void> loading = session.manager.loadAll();
    QVERIFY(settle(loading));
    QCOMPARE(session.plugin(keeperId)->state(), Plugin::State::Unloaded);
    QCOMPARE(session.plugin(dormantId)->state(), Plugin::State::Loaded);
    QCOMPARE(session.plugin(otherId)->state(), Plugin::State::Loaded);
    QCOMPARE(session.plugin(failingId)->state(), Plugin::State::Unloaded); // disabled by default
}

void StorageTest::testStateIsPersistedOnlyWhenOptedIn()
{
    {
        Session session(m_profile->path());
        QVERIFY(session.load(persistingId));
        QVERIFY(session.load(keeperId));
        QCOMPARE(session.value(persistingId, QStringLiteral("bump")), QVariant(1LL));
        QCOMPARE(session.value(persistingId, QStringLiteral("bump")), QVariant(2LL));
    } // the manager unloads both: on_unload() runs
    {
        Session session(m_profile->path());
        QVERIFY(session.load(persistingId));
        QVERIFY(session.load(keeperId));
        const QVariantMap previous = session.value(persistingId, QStringLiteral("previous")).toMap();
        QCOMPARE(previous.value(QStringLiteral("count")), QVariant(2LL));
        QCOMPARE(previous.value(QStringLiteral("blob")), QVariant(QByteArray("\x00\x01", 2)));
        QCOMPARE(session.value(keeperId, QStringLiteral("previous")), QVariant()); // did not opt in
        QCOMPARE(session.value(persistingId, QStringLiteral("bump")), QVariant(3LL));
        // A reload still hands the state over in memory.
        const QFuture<CallResult> reloading = session.plugin(persistingId)->reload();
        QVERIFY(settle(reloading));
        QCOMPARE(session.value(persistingId, QStringLiteral("previous")).toMap().value(QStringLiteral("count")), QVariant(3LL));
    }
    // The saved state is used up by the start that gets it: a start that follows a crash (no
    // on_unload()) must not get an old one. Simulated by taking it the way a start does.
    ProfileDatabase database(m_profile->filePath(QStringLiteral("pluginhost.sqlite")));
    QVariant state;
    bool found = false;
    QVERIFY(!database.takeState(persistingId, &state, &found).isError());
    QVERIFY(found); // the last session's unload saved one
    QCOMPARE(state.toMap().value(QStringLiteral("count")), QVariant(3LL));
    Session afterCrash(m_profile->path());
    QVERIFY(afterCrash.load(persistingId));
    QCOMPARE(afterCrash.value(persistingId, QStringLiteral("previous")), QVariant());
}

void StorageTest::testCorruptDatabaseIsMovedAside()
{
    const QString file = m_profile->filePath(QStringLiteral("pluginhost.sqlite"));
    {
        QFile garbage(file);
        QVERIFY(garbage.open(QIODevice::WriteOnly));
        garbage.write(QByteArray(8192, 'z'));
    }
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("is corrupt .* moved it to .*pluginhost\\.sqlite\\.corrupt-")));
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("fresh"), true}));
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("fresh")}), QVariant(true));

    const QStringList aside = QDir(m_profile->path()).entryList({QStringLiteral("pluginhost.sqlite.corrupt-*")});
    QCOMPARE(aside.size(), 1);
    QFile kept(m_profile->filePath(aside.constFirst()));
    QVERIFY(kept.open(QIODevice::ReadOnly));
    QCOMPARE(kept.readAll(), QByteArray(8192, 'z')); // moved, not lost
}

void StorageTest::testUnwritableLocationKeepsEverythingElseWorking()
{
    // A profile folder that cannot be made: its parent is a file. (A read-only folder is the
    // same to SQLite, but root, who runs CI here, may write anywhere.)
    const QString blocker = m_profile->filePath(QStringLiteral("not-a-folder"));
    {
        QFile file(blocker);
        QVERIFY(file.open(QIODevice::WriteOnly));
    }
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("cannot be created")));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("could not keep org.test.dormant enabled")));
    Session session(blocker + QStringLiteral("/profile"));
    QVERIFY(session.load(keeperId)); // plugins load all the same
    QCOMPARE(session.value(keeperId, QStringLiteral("has"), {QStringLiteral("x")}), QVariant()); // the call failed
    const Attempt write = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("put"), QStringLiteral("x"), 1});
    QCOMPARE(write.type, QStringLiteral("pluginhost.PluginError"));
    QVERIFY2(write.message.contains(QLatin1String("cannot be created")), qPrintable(write.message));
    const Attempt read = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("get"), QStringLiteral("x")});
    QCOMPARE(read.type, QStringLiteral("pluginhost.PluginError"));
    QCOMPARE(session.value(keeperId, QStringLiteral("previous")), QVariant()); // other calls work

    // The registry falls back to the metadata, and a choice holds for this manager.
    QCOMPARE(session.plugin(dormantId)->isEnabled(), false);
    const PluginError error = session.plugin(dormantId)->setEnabled(true);
    QCOMPARE(error.kind(), PluginError::Kind::StorageFailed);
    QCOMPARE(session.plugin(dormantId)->isEnabled(), true);
    QCOMPARE(session.plugin(keeperId)->record().loads, 0);
}

void StorageTest::testDiskFull()
{
    Session session(m_profile->path());
    QVERIFY(session.load(keeperId));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("before"), 1}));

    // No file of this process may grow past 256 KiB: to SQLite that is a full disk.
    struct rlimit previous;
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &previous), 0);
    const auto previousHandler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limited = previous;
    limited.rlim_cur = 256 * 1024;
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &limited), 0);
    const Attempt full = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("put_huge"), 1024 * 1024});
    const Attempt read = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("get"), QStringLiteral("before")});
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &previous), 0);
    std::signal(SIGXFSZ, previousHandler);

    QCOMPARE(full.type, QStringLiteral("pluginhost.PluginError"));
    QVERIFY2(full.message.contains(QLatin1String("full")) || full.message.contains(QLatin1String("I/O")), qPrintable(full.message));
    QCOMPARE(read.status, QStringLiteral("ok"));
    QCOMPARE(read.value, QVariant(1LL));
    // Space again: writing works, and nothing committed was lost.
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("after"), 2}));
    QCOMPARE(session.value(keeperId, QStringLiteral("keys")).toStringList(), (QStringList{QStringLiteral("after"), QStringLiteral("before")}));
}

void StorageTest::testLockedByAnotherProcess()
{
    Session session(m_profile->path());
    session.manager.setStorageLockTimeout(100ms);
    QVERIFY(session.load(keeperId));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("before"), 1})); // the database exists now

    QProcess locker;
    QVERIFY2(startHelper(locker, {QStringLiteral("lock"), m_profile->path()}), locker.readAllStandardError().constData());
    QElapsedTimer waited;
    waited.start();
    const Attempt locked = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("put"), QStringLiteral("x"), 1});
    const qint64 elapsed = waited.elapsed();
    QCOMPARE(locked.type, QStringLiteral("pluginhost.PluginError"));
    QVERIFY2(locked.message.contains(QLatin1String("locked by another process")), qPrintable(locked.message));
    QVERIFY2(elapsed >= 250 && elapsed < 20000, qPrintable(QString::number(elapsed))); // three bounded waits, not forever
    // Readers are not blocked by a writer in WAL mode.
    const Attempt read = attempt(session, keeperId, QStringLiteral("attempt"), {QStringLiteral("get"), QStringLiteral("before")});
    QCOMPARE(read.value, QVariant(1LL));

    locker.kill();
    QVERIFY(locker.waitForFinished(10000));
    QVERIFY(session.call(keeperId, QStringLiteral("put"), {QStringLiteral("x"), 2}));
    QCOMPARE(session.value(keeperId, QStringLiteral("get"), {QStringLiteral("x")}), QVariant(2LL));
}

void StorageTest::testCommittedValuesSurviveSigkill()
{
    QProcess writer;
    QVERIFY2(startHelper(writer, {QStringLiteral("write"), m_profile->path(), fixtures}), writer.readAllStandardError().constData());
    qlonglong lastReported = -1;
    QByteArray pending;
    QElapsedTimer waited;
    waited.start();
    while (lastReported < 300 && waited.elapsed() < 60000 && writer.state() == QProcess::Running) {
        writer.waitForReadyRead(100);
        pending += writer.readAllStandardOutput();
        const qsizetype end = pending.lastIndexOf('\n');
        if (end >= 0) {
            lastReported = pending.left(end).split('\n').constLast().toLongLong();
        }
    }
    ::kill(pid_t(writer.processId()), SIGKILL); // mid-write, most likely
    QVERIFY(writer.waitForFinished(10000));
    pending += writer.readAllStandardOutput();
    const qsizetype end = pending.lastIndexOf('\n');
    QVERIFY2(end > 0, writer.readAllStandardError().constData());
    lastReported = pending.left(end).split('\n').constLast().toLongLong();
    QVERIFY2(lastReported >= 300, qPrintable(QString::number(lastReported)));

    const DatabaseGuard::HostAccess host; // in this process SQLite keeps the profile to the host
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open_v2(QFile::encodeName(m_profile->filePath(QStringLiteral("pluginhost.sqlite"))).constData(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    QCOMPARE(sqliteText(db, "PRAGMA integrity_check"), QStringLiteral("ok"));
    sqlite3_close(db);

    ProfileDatabase database(m_profile->filePath(QStringLiteral("pluginhost.sqlite")));
    for (qlonglong i = 0; i <= lastReported; ++i) {
        QVariant value;
        bool found = false;
        QVERIFY(!database.value(keeperId, QStringLiteral("k%1").arg(i), &value, &found).isError());
        QVERIFY2(found, qPrintable(QStringLiteral("k%1 was reported committed but is missing").arg(i)));
        QCOMPARE(value, QVariant(i));
    }
}

QTEST_GUILESS_MAIN(StorageTest)

#include "storagetest.moc"
