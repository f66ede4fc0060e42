// Loading has a deadline (PluginManager::setLoadTimeout()): a plugin whose import or on_load()
// loops, or sits in C, fails naming itself and where it was, and the others load meanwhile.
#include "futurehelpers.h"

#include <PluginHost/PluginManager>

#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/loading");

QString idOf(const QString &name)
{
    return QStringLiteral("org.test.loading.") + name;
}
} // namespace

class LoadDeadlineTest : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void testDefault();
    void testOverrunningLoadFails_data();
    void testOverrunningLoadFails();
    void testLoadAllCompletesBesideStuckPlugins();
    void testStubbornPluginIsQuarantinedOnUnload();
    void testReloadTimeStartsAfterThePreviousInstance();

private:
    Plugin *plugin(const QString &name) const
    {
        return m_manager->plugin(idOf(name));
    }
    PluginManager *m_manager = nullptr;
    std::unique_ptr<QTemporaryDir> m_profile;
};

void LoadDeadlineTest::init()
{
    m_profile = std::make_unique<QTemporaryDir>();
    QVERIFY(m_profile->isValid());
    m_manager = new PluginManager(this);
    m_manager->setDataLocation(m_profile->filePath(QStringLiteral("data")));
    m_manager->setProfileDirectory(m_profile->path());
    m_manager->setSearchPaths({fixtures});
    m_manager->setUnloadTimeouts({500ms, 300ms, 300ms});
    m_manager->setLoadTimeout(300ms);
    m_manager->discover();
}

void LoadDeadlineTest::cleanup()
{
    delete m_manager; // bounded: stuck interpreters are quarantined
    m_manager = nullptr;
}

void LoadDeadlineTest::testDefault()
{
    PluginManager manager;
    QCOMPARE(manager.loadTimeout(), std::chrono::milliseconds(5s));
}

void LoadDeadlineTest::testOverrunningLoadFails_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("where");
    QTest::newRow("import loops") << QStringLiteral("spin_import") << QStringLiteral("interrupted at /.*/spin_import.py:2 in <module>$");
    QTest::newRow("on_load() loops") << QStringLiteral("spin_onload") << QStringLiteral("interrupted at /.*/spin_onload.py:5 in on_load$");
    QTest::newRow("on_load() sleeps in C") << QStringLiteral("sleep_onload") << QStringLiteral("blocked in C");
}

void LoadDeadlineTest::testOverrunningLoadFails()
{
    QFETCH(QString, name);
    QFETCH(QString, where);
    Plugin *stuck = plugin(name);
    QVERIFY(stuck);
    const QFuture<CallResult> load = stuck->load();
    QVERIFY(settle(load));
    const CallResult result = load.result();
    QVERIFY(!result);
    QCOMPARE(result.error().kind(), PluginError::Kind::TimedOut);
    QCOMPARE(result.error().pluginId(), idOf(name));
    QVERIFY2(result.error().message().startsWith(QLatin1String("did not finish loading within 300 ms; ")), qPrintable(result.error().errorText()));
    QVERIFY2(result.error().message().contains(QRegularExpression(where)), qPrintable(result.error().errorText()));
    QVERIFY2(result.error().errorText().contains(idOf(name)), qPrintable(result.error().errorText()));
    QCOMPARE(stuck->state(), Plugin::State::Failed);
    QCOMPARE(stuck->lastError().kind(), PluginError::Kind::TimedOut);
    // A call now fails at once with the load's error.
    const CallResult call = resultOf(stuck->call(QStringLiteral("anything")));
    QVERIFY(!call);
    QVERIFY2(call.error().errorText().contains(QLatin1String("did not finish loading")), qPrintable(call.error().errorText()));
    // The registry keeps the reason for the next run.
    QTRY_VERIFY(stuck->record().lastError.contains(QLatin1String("did not finish loading within 300 ms")));
    QVERIFY(settle(stuck->unload()));
}

void LoadDeadlineTest::testLoadAllCompletesBesideStuckPlugins()
{
    QVERIFY(settle(m_manager->loadAll()));
    QCOMPARE(plugin(QStringLiteral("good"))->state(), Plugin::State::Loaded);
    for (const QString &name : {QStringLiteral("spin_import"), QStringLiteral("spin_onload"), QStringLiteral("sleep_onload"), QStringLiteral("stubborn")}) {
        QCOMPARE(plugin(name)->state(), Plugin::State::Failed);
        QVERIFY2(plugin(name)->lastError().errorText().contains(idOf(name)), qPrintable(plugin(name)->lastError().errorText()));
    }
    const CallResult pong = resultOf(plugin(QStringLiteral("good"))->call(QStringLiteral("ping"), {7}));
    QCOMPARE(pong.value().toList(), (QVariantList{QStringLiteral("pong"), 7}));
}

void LoadDeadlineTest::testStubbornPluginIsQuarantinedOnUnload()
{
    Plugin *stubborn = plugin(QStringLiteral("stubborn"));
    const QFuture<CallResult> load = stubborn->load();
    QVERIFY(settle(load));
    QCOMPARE(load.result().error().kind(), PluginError::Kind::TimedOut);
    // It swallowed the Cancelled and goes on: unloading gives up on it instead of waiting.
    QVERIFY(settle(stubborn->unload()));
    const QList<QuarantinedPlugin> quarantined = m_manager->quarantinedPlugins();
    QCOMPARE(quarantined.size(), 1);
    QCOMPARE(quarantined.first().pluginId, idOf(QStringLiteral("stubborn")));
    // A fresh interpreter takes its place at once.
    QCOMPARE(stubborn->state(), Plugin::State::Unloaded);
    QTRY_VERIFY_WITH_TIMEOUT(m_manager->quarantinedPlugins().isEmpty(), 10000); // its thread returned in the end
}

void LoadDeadlineTest::testReloadTimeStartsAfterThePreviousInstance()
{
    m_manager->setUnloadTimeouts({5s, 300ms, 300ms}); // on_unload() may take its time here
    Plugin *slow = plugin(QStringLiteral("slow_unload"));
    QVERIFY(settle(slow->load()));
    QCOMPARE(slow->state(), Plugin::State::Loaded);
    // on_unload() takes twice the load deadline; the new instance's clock starts after it.
    const QFuture<CallResult> reload = slow->reload();
    QVERIFY(settle(reload));
    QVERIFY2(reload.result(), qPrintable(reload.result().error().errorText()));
    QCOMPARE(resultOf(slow->call(QStringLiteral("load_count"))).value().toInt(), 2);
}

QTEST_GUILESS_MAIN(LoadDeadlineTest)
#include "loaddeadlinetest.moc"
