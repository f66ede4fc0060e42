// Interpreter teardown with plugins that keep the `pluginhost` module's objects past their
// unload (tests/data/teardown): in module globals, cycles, finalizers, atexit handlers,
// thread-locals and pending asyncio tasks, entered transactions included. Unloading and
// reloading such a plugin must not crash the host, and another plugin keeps answering.
// Also: a plugin that asked threading about its own thread unloads without CPython's noise.
#include "futurehelpers.h"

#include <PluginHost/Buffer>
#include <PluginHost/PluginManager>

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/teardown");
const QString hoarderId = QStringLiteral("org.test.teardown.hoarder");
const QString canaryId = QStringLiteral("org.test.teardown.canary");
const QString dummyThreadId = QStringLiteral("org.test.teardown.dummythread");

// How many times the hoarder is torn down and brought back in each test row.
constexpr int rounds = 3;

CallResult settled(const QFuture<CallResult> &future)
{
    if (!settle(future)) {
        return PluginError(PluginError::Kind::TimedOut, QString(), QStringLiteral("the test waited 30 s in vain"));
    }
    return future.result();
}
} // namespace

class TeardownTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void testHoardedObjectsSurviveTeardown_data();
    void testHoardedObjectsSurviveTeardown();
    void testPluginThreadLeavesNoDummyThreadNoise();

private:
    Plugin *plugin(const QString &id) const;
    bool canaryAnswers();
    QVariantMap hoarded();

    QTemporaryDir m_profile;
    PluginManager *m_manager = nullptr;
    qint64 m_canaryAnswers = 0;
};

void TeardownTest::initTestCase()
{
    QVERIFY(m_profile.isValid());
    m_manager = new PluginManager(this);
    m_manager->setProfileDirectory(m_profile.path());
    // A hoarded open transaction holds the profile's writer until the hoarder's thread ends:
    // the registry's writes meanwhile give up sooner than by default.
    m_manager->setStorageLockTimeout(100ms);
    m_manager->setSearchPaths({fixtures});
    m_manager->discover();
    const CallResult canary = settled(plugin(canaryId)->load());
    QVERIFY2(canary, qPrintable(canary.error().errorText()));
}

void TeardownTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
}

void TeardownTest::init()
{
    // The hoarder hands its kinds to its next instance: start each test with none.
    Plugin *hoarder = plugin(hoarderId);
    const CallResult load = settled(hoarder->load());
    QVERIFY2(load, qPrintable(load.error().errorText()));
    const CallResult forget = resultOf(hoarder->call(QStringLiteral("hoard"), {QStringList(), QVariant()}));
    QVERIFY2(forget, qPrintable(forget.error().errorText()));
    QVERIFY(settled(hoarder->unload()));
}

Plugin *TeardownTest::plugin(const QString &id) const
{
    Plugin *found = m_manager->plugin(id);
    if (!found) {
        qFatal("fixture plugin %s not found", qPrintable(id));
    }
    return found;
}

bool TeardownTest::canaryAnswers()
{
    const CallResult answer = resultOf(plugin(canaryId)->call(QStringLiteral("ping")));
    if (!answer || answer.value().toLongLong() != m_canaryAnswers + 1) {
        qWarning().noquote() << "the canary did not answer:" << (answer ? answer.value().toString() : answer.error().errorText());
        return false;
    }
    ++m_canaryAnswers;
    return true;
}

QVariantMap TeardownTest::hoarded()
{
    const CallResult result = resultOf(plugin(hoarderId)->call(QStringLiteral("hoarded")));
    if (!result) {
        qWarning().noquote() << "hoarded() failed:" << result.error().errorText();
    }
    return result.value().toMap();
}

void TeardownTest::testHoardedObjectsSurviveTeardown_data()
{
    QTest::addColumn<QStringList>("kinds");

    const QStringList kinds{QStringLiteral("info"),
                            QStringLiteral("logger"),
                            QStringLiteral("logstream"),
                            QStringLiteral("storage"),
                            QStringLiteral("transaction"),
                            QStringLiteral("buffer"),
                            QStringLiteral("event"),
                            QStringLiteral("asyncio"),
                            QStringLiteral("closures")};
    for (const QString &kind : kinds) {
        QTest::newRow(qPrintable(kind)) << QStringList{kind};
    }
    QTest::newRow("everything at once") << kinds;
}

void TeardownTest::testHoardedObjectsSurviveTeardown()
{
    QFETCH(QStringList, kinds);
    const bool receivesEvents = kinds.contains(QLatin1String("event")) || kinds.contains(QLatin1String("asyncio"));
    Plugin *hoarder = plugin(hoarderId);

    CallResult load = settled(hoarder->load());
    QVERIFY2(load, qPrintable(load.error().errorText()));
    const Buffer frame(QByteArray(4096, 'f'));
    const CallResult hoard = resultOf(hoarder->call(QStringLiteral("hoard"), {kinds, QVariant::fromValue(frame)}));
    QVERIFY2(hoard, qPrintable(hoard.error().errorText()));

    for (int round = 0; round < rounds; ++round) {
        if (receivesEvents) {
            m_manager->broadcast(QStringLiteral("teardown.hoard"), QVariantMap{{QStringLiteral("frame"), QVariant::fromValue(frame)}});
        }
        // Every instance hoards before it is torn down: the first in hoard(), the others at import.
        const QVariantMap kept = hoarded();
        QVERIFY(kept.value(QStringLiteral("objects")).toInt() > 0);
        QCOMPARE(kept.value(QStringLiteral("events")).toInt() > 0, receivesEvents);
        QVERIFY(canaryAnswers());

        if (round % 2 == 1) {
            const CallResult reload = settled(hoarder->reload());
            QVERIFY2(reload, qPrintable(reload.error().errorText()));
        } else {
            const CallResult unload = settled(hoarder->unload());
            QVERIFY2(unload, qPrintable(unload.error().errorText()));
            QCOMPARE(hoarder->state(), Plugin::State::Unloaded);
            QVERIFY(canaryAnswers());
            load = settled(hoarder->load());
            QVERIFY2(load, qPrintable(load.error().errorText()));
        }
        QCOMPARE(hoarder->state(), Plugin::State::Loaded);
        QVERIFY(canaryAnswers());
    }

    const CallResult unload = settled(hoarder->unload());
    QVERIFY2(unload, qPrintable(unload.error().errorText()));
    QCOMPARE(hoarder->state(), Plugin::State::Unloaded);
    QVERIFY(canaryAnswers());
}

void TeardownTest::testPluginThreadLeavesNoDummyThreadNoise()
{
    // CPython prints its noise straight to the process's stderr while the interpreter ends:
    // the real host, in a process of its own, shows what a user would see.
    QTemporaryDir profile;
    QVERIFY(profile.isValid());
    QProcess host;
    host.start(QStringLiteral(PLUGINHOST_HOST_BINARY),
               {QStringLiteral("--headless"),
                QStringLiteral("--call"),
                dummyThreadId,
                QStringLiteral("thread_name"),
                QStringLiteral("--plugin-dir"),
                fixtures,
                QStringLiteral("--profile"),
                profile.path()});
    QVERIFY2(host.waitForFinished(60 * 1000), qPrintable(host.errorString()));
    const QByteArray out = host.readAllStandardOutput();
    const QByteArray err = host.readAllStandardError();
    const QByteArray described = "stdout:\n" + out + "\nstderr:\n" + err;
    QCOMPARE(host.exitStatus(), QProcess::NormalExit);
    QVERIFY2(host.exitCode() == 0, described.constData());
    // On 3.13 threading made a dummy Thread ("Dummy-1") for the plugin's thread, the case
    // CPython complains about; 3.12 took that thread for the interpreter's main thread.
    QVERIFY2(out.startsWith("\"Dummy-") || out.startsWith("\"MainThread\""), described.constData());
    QVERIFY2(!err.contains("Exception ignored"), described.constData());
    QVERIFY2(!err.contains("Traceback"), described.constData());
}

QTEST_GUILESS_MAIN(TeardownTest)
#include "teardowntest.moc"
