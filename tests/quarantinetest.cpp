// Unload and reload never hang: a plugin whose on_unload() or threads overrun their time gets
// pluginhost.Cancelled, and when that does not help it is quarantined, its interpreter left to
// its thread. The fixture (tests/data/quarantine/stuck) is told what to get stuck in.
//
// Everything stuck here sleeps a few seconds only, and every test waits until the abandoned
// interpreter really ended: this process exits with no stuck thread. A host that exits while
// one is stuck for good is headlesstest's business (testTimeoutBlockedInC).
#include "futurehelpers.h"

#include "runtime/runtime_p.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/quarantine");
const QString stuckId = QStringLiteral("org.pluginhost.test.stuck");

// Short enough for a quick test, long enough for a loaded CI machine to run on_unload() in time.
constexpr UnloadTimeouts shortTimeouts{300ms, 300ms, 1000ms};

// Generous: "bounded" is what is checked, not how fast.
constexpr int boundMs = 15000;

CallResult waitFor(const QFuture<CallResult> &future, int timeoutMs = boundMs)
{
    if (!settle(future, timeoutMs)) {
        return PluginError(PluginError::Kind::TimedOut, QString(), QStringLiteral("the test waited %1 ms in vain").arg(timeoutMs));
    }
    return future.result();
}

// Until every abandoned interpreter of the process has ended (its fixture sleeps a few seconds).
bool noneAbandoned(int timeoutMs = 30000)
{
    return QTest::qWaitFor(
        [] {
            return RuntimeInternal::abandonedInterpreters().isEmpty();
        },
        timeoutMs);
}
} // namespace

class QuarantineTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void testDefaults();
    void testOnUnloadLoopingIsCancelled();
    void testOnUnloadSleepingIsQuarantined();
    void testOnUnloadCatchingCancelledIsQuarantined();
    void testThreadRunningPythonIsCancelled();
    void testThreadBlockedInCIsQuarantined();
    void testReloadOfStuckPluginTakesOverAtOnce();
    void testReloadHandsOverStateWhenOnlyThreadsAreStuck();
    void testUnloadBehindStuckCall();
    void testManagerDestructionIsBounded();
    void testUnloadAfterFailedLoadWithStuckThread();

private:
    // The fixture, loaded in a fresh manager with shortTimeouts.
    Plugin *loadStuck();
    CallResult call(const QString &function, const QVariantList &arguments = {});

    QTemporaryDir m_profile;
    PluginManager *m_manager = nullptr;
};

void QuarantineTest::initTestCase()
{
    QVERIFY(m_profile.isValid());
}

void QuarantineTest::init()
{
    m_manager = new PluginManager(this);
    m_manager->setSearchPaths({fixtures});
    m_manager->setProfileDirectory(m_profile.path());
    m_manager->setDataLocation(m_profile.filePath(QStringLiteral("data")));
    m_manager->setUnloadTimeouts(shortTimeouts);
    m_manager->discover();
}

void QuarantineTest::cleanup()
{
    delete m_manager;
    m_manager = nullptr;
    QVERIFY2(noneAbandoned(), qPrintable(RuntimeInternal::abandonedInterpreters().join(QLatin1Char('\n'))));
}

Plugin *QuarantineTest::loadStuck()
{
    Plugin *plugin = m_manager->plugin(stuckId);
    if (!plugin) {
        return nullptr;
    }
    const CallResult result = waitFor(plugin->load());
    return result ? plugin : nullptr;
}

CallResult QuarantineTest::call(const QString &function, const QVariantList &arguments)
{
    return resultOf(m_manager->plugin(stuckId)->call(function, arguments));
}

void QuarantineTest::testDefaults()
{
    PluginManager manager;
    QCOMPARE(manager.unloadTimeouts().onUnload, 5000ms);
    QCOMPARE(manager.unloadTimeouts().threads, 2000ms);
    QCOMPARE(manager.unloadTimeouts().cancelGrace, 1000ms);
    QVERIFY(manager.quarantinedPlugins().isEmpty());
}

void QuarantineTest::testOnUnloadLoopingIsCancelled()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    QVERIFY(call(QStringLiteral("set_unload"), {QStringLiteral("loop")}));

    QElapsedTimer timer;
    timer.start();
    const CallResult result = waitFor(plugin->unload());
    const qint64 elapsed = timer.elapsed();
    qInfo("on_unload() looping in Python ended by Cancelled %lld ms after the unload began (timeout %lld ms: Cancelled landed after %lld ms)",
          elapsed,
          qint64(shortTimeouts.onUnload.count()),
          elapsed - qint64(shortTimeouts.onUnload.count()));

    QVERIFY(!result);
    QVERIFY2(result.error().errorText().contains(QLatin1String("Cancelled")), qPrintable(result.error().errorText()));
    QVERIFY2(result.error().errorText().contains(QLatin1String("on_unload() did not return within 300 ms")), qPrintable(result.error().errorText()));
    QVERIFY2(result.error().errorText().contains(QLatin1String("stuck.py")), qPrintable(result.error().errorText()));
    QCOMPARE(plugin->state(), Plugin::State::Unloaded);
    QVERIFY(m_manager->quarantinedPlugins().isEmpty()); // Cancelled was enough
    QVERIFY(RuntimeInternal::abandonedInterpreters().isEmpty());
}

void QuarantineTest::testOnUnloadSleepingIsQuarantined()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    const qint64 oldInterpreter = plugin->interpreterId();
    QVERIFY(call(QStringLiteral("set_unload"), {QStringLiteral("sleep"), 4.0}));

    QElapsedTimer timer;
    timer.start();
    const CallResult result = waitFor(plugin->unload());
    qInfo("on_unload() sleeping in C: quarantined, unload future finished after %lld ms", timer.elapsed());

    QVERIFY(!result);
    QCOMPARE(result.error().kind(), PluginError::Kind::TimedOut);
    const QString text = result.error().errorText();
    QVERIFY2(text.contains(stuckId), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("on_unload() did not return within 300 ms")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("blocked in C in time.sleep() called at stuck.py:")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("quarantined")), qPrintable(text));
    QCOMPARE(plugin->state(), Plugin::State::Unloaded);
    QCOMPARE(plugin->lastError().kind(), PluginError::Kind::TimedOut);

    const QList<QuarantinedPlugin> quarantined = m_manager->quarantinedPlugins();
    QCOMPARE(quarantined.size(), 1);
    QCOMPARE(quarantined.first().pluginId, stuckId);
    QCOMPARE(quarantined.first().interpreterId, oldInterpreter);
    QVERIFY(quarantined.first().since.isValid());
    QVERIFY2(quarantined.first().reason.contains(QLatin1String("time.sleep()")), qPrintable(quarantined.first().reason));
    QCOMPARE(RuntimeInternal::abandonedInterpreters().size(), 1);

    // Loading it again works at once, in a fresh interpreter, while the old one is still stuck.
    QVERIFY(waitFor(plugin->load()));
    const CallResult pong = call(QStringLiteral("ping"));
    QVERIFY2(pong, qPrintable(pong.error().errorText()));
    QCOMPARE(pong.value().toList().value(0).toString(), QStringLiteral("pong"));
    QVERIFY(pong.value().toList().value(1).toLongLong() != oldInterpreter);
    QCOMPARE(m_manager->quarantinedPlugins().size(), 1);

    // Once time.sleep() returns, the abandoned interpreter ends and leaves the list.
    QVERIFY(QTest::qWaitFor(
        [this] {
            return m_manager->quarantinedPlugins().isEmpty();
        },
        boundMs));
    QVERIFY(noneAbandoned());
    QCOMPARE(plugin->state(), Plugin::State::Loaded); // the late end of the old one changes nothing
    QVERIFY(call(QStringLiteral("ping")));
}

void QuarantineTest::testOnUnloadCatchingCancelledIsQuarantined()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    QVERIFY(call(QStringLiteral("set_unload"), {QStringLiteral("catch"), 4.0}));

    const CallResult result = waitFor(plugin->unload());
    QVERIFY(!result);
    const QString text = result.error().errorText();
    QVERIFY2(text.contains(QLatin1String("pluginhost.Cancelled interrupted it at stuck.py:")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("in on_unload")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("but it went on")), qPrintable(text));
    QCOMPARE(m_manager->quarantinedPlugins().size(), 1);
    QVERIFY(noneAbandoned());
}

void QuarantineTest::testThreadRunningPythonIsCancelled()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    QCOMPARE(call(QStringLiteral("start_thread"), {QStringLiteral("tick")}).value().toString(), QStringLiteral("worker-tick"));

    QElapsedTimer timer;
    timer.start();
    const CallResult result = waitFor(plugin->unload());
    qInfo("a plugin thread running Python ended by Cancelled; unload took %lld ms (threads timeout %lld ms)",
          timer.elapsed(),
          qint64(shortTimeouts.threads.count()));
    QVERIFY2(result, qPrintable(result.error().errorText()));
    QCOMPARE(result.value().toMap().value(QStringLiteral("unloaded")).toString(), QStringLiteral("return"));
    QCOMPARE(plugin->state(), Plugin::State::Unloaded);
    QVERIFY(!plugin->lastError().isError());
    QVERIFY(m_manager->quarantinedPlugins().isEmpty());
}

void QuarantineTest::testThreadBlockedInCIsQuarantined()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    QVERIFY(call(QStringLiteral("start_thread"), {QStringLiteral("sleep"), 4.0}));

    QElapsedTimer timer;
    timer.start();
    const CallResult result = waitFor(plugin->unload());
    qInfo("a plugin thread blocked in C: quarantined, unload future finished after %lld ms", timer.elapsed());
    // on_unload() returned: its value stands; the quarantine is the plugin's lastError().
    QVERIFY2(result, qPrintable(result.error().errorText()));
    QCOMPARE(result.value().toMap().value(QStringLiteral("unloaded")).toString(), QStringLiteral("return"));
    QCOMPARE(plugin->state(), Plugin::State::Unloaded);
    const QString text = plugin->lastError().errorText();
    QCOMPARE(plugin->lastError().kind(), PluginError::Kind::TimedOut);
    QVERIFY2(text.contains(QLatin1String("'worker-sleep' at stuck.py:")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("did not end within 300 ms, not even after pluginhost.Cancelled")), qPrintable(text));
    QCOMPARE(m_manager->quarantinedPlugins().size(), 1);

    QVERIFY(waitFor(plugin->load()));
    QVERIFY(call(QStringLiteral("ping")));
    QVERIFY(noneAbandoned());
}

void QuarantineTest::testReloadOfStuckPluginTakesOverAtOnce()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    const qint64 oldInterpreter = plugin->interpreterId();
    QVERIFY(call(QStringLiteral("set_unload"), {QStringLiteral("sleep"), 4.0}));

    QElapsedTimer timer;
    timer.start();
    const QFuture<CallResult> reloading = plugin->reload();
    const QFuture<QVariant> pinged = plugin->call(QStringLiteral("ping")); // queued meanwhile: for the new instance
    const CallResult reloaded = waitFor(reloading);
    qInfo("reload of a plugin stuck in on_unload(): the fresh instance took over after %lld ms", timer.elapsed());
    QVERIFY2(reloaded, qPrintable(reloaded.error().errorText()));
    QCOMPARE(plugin->state(), Plugin::State::Loaded);
    QVERIFY(plugin->interpreterId() != oldInterpreter);
    QCOMPARE(m_manager->quarantinedPlugins().size(), 1);

    const CallResult pong = resultOf(pinged);
    QVERIFY2(pong, qPrintable(pong.error().errorText()));
    const QVariantList answer = pong.value().toList();
    QCOMPARE(answer.value(0).toString(), QStringLiteral("pong"));
    QCOMPARE(answer.value(1).toLongLong(), plugin->interpreterId());
    QVERIFY(!answer.value(2).isValid()); // on_unload() never returned: previous_state is None
    QVERIFY(noneAbandoned());
}

void QuarantineTest::testReloadHandsOverStateWhenOnlyThreadsAreStuck()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    QVERIFY(call(QStringLiteral("start_thread"), {QStringLiteral("sleep"), 4.0}));

    QVERIFY(waitFor(plugin->reload()));
    QCOMPARE(m_manager->quarantinedPlugins().size(), 1);
    const CallResult pong = call(QStringLiteral("ping"));
    QVERIFY2(pong, qPrintable(pong.error().errorText()));
    QCOMPARE(pong.value().toList().value(2).toMap().value(QStringLiteral("unloaded")).toString(), QStringLiteral("return"));
    QVERIFY(noneAbandoned());
}

void QuarantineTest::testUnloadBehindStuckCall()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    const QFuture<QVariant> napping = plugin->call(QStringLiteral("nap"), {4.0});
    QTest::qWait(100); // let it start
    const CallResult result = waitFor(plugin->unload());
    QVERIFY(!result);
    const QString text = result.error().errorText();
    QVERIFY2(text.contains(QLatin1String("nap(), still running when the unload began, did not return within 300 ms")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("blocked in C")), qPrintable(text));
    QCOMPARE(m_manager->quarantinedPlugins().size(), 1);
    QVERIFY(settle(napping, boundMs)); // it returns, or the supervisor gave up on it
    QVERIFY(noneAbandoned());
}

void QuarantineTest::testManagerDestructionIsBounded()
{
    Plugin *plugin = loadStuck();
    QVERIFY(plugin);
    QVERIFY(call(QStringLiteral("set_unload"), {QStringLiteral("sleep"), 4.0}));

    QElapsedTimer timer;
    timer.start();
    delete m_manager;
    m_manager = nullptr;
    const qint64 elapsed = timer.elapsed();
    qInfo("PluginManager destroyed with a plugin stuck in on_unload() in %lld ms", elapsed);
    QVERIFY2(elapsed < boundMs, qPrintable(QString::number(elapsed)));
    QCOMPARE(RuntimeInternal::abandonedInterpreters().size(), 1);
    QVERIFY2(RuntimeInternal::abandonedInterpreters().first().startsWith(stuckId), qPrintable(RuntimeInternal::abandonedInterpreters().first()));
    QVERIFY(noneAbandoned());
}

void QuarantineTest::testUnloadAfterFailedLoadWithStuckThread()
{
    Plugin *plugin = m_manager->plugin(QStringLiteral("org.pluginhost.test.stuckload"));
    QVERIFY(plugin);
    const CallResult loaded = waitFor(plugin->load());
    QVERIFY(!loaded);
    QVERIFY2(loaded.error().errorText().contains(QLatin1String("gives up after starting a thread")), qPrintable(loaded.error().errorText()));

    QElapsedTimer timer;
    timer.start();
    const CallResult result = waitFor(plugin->unload());
    qInfo("unload of a failed plugin whose thread sleeps in C finished after %lld ms", timer.elapsed());
    QVERIFY(!result);
    QVERIFY2(result.error().errorText().contains(QLatin1String("after its load failed")), qPrintable(result.error().errorText()));
    QCOMPARE(m_manager->quarantinedPlugins().size(), 1);
    QVERIFY(noneAbandoned());
}

QTEST_GUILESS_MAIN(QuarantineTest)

#include "quarantinetest.moc"
