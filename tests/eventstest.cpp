// The host side of the `pluginhost` module, end to end: exports, events between plugins and
// to the host, plugin-to-plugin calls (with cycles and timeouts), logging, info, data folders,
// state handed over on reload and translations, with real fixture plugins.
#include "futurehelpers.h"
#include "loghelpers.h"

#include <PluginHost/PluginManager>

#include <QElapsedTimer>
#include <QLocale>
#include <QLoggingCategory>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/module");
const QString translatedFixtures = QStringLiteral(PLUGINHOST_TEST_BUILT_DATA "/translated");
const QString alphaId = QStringLiteral("org.test.alpha");
const QString betaId = QStringLiteral("org.test.beta");
const QString gammaId = QStringLiteral("org.test.gamma");

QVariant valueOf(Plugin *plugin, const QString &function, const QVariantList &arguments = {})
{
    const CallResult result = resultOf(plugin->call(function, arguments));
    if (!result) {
        qWarning().noquote() << "call failed:" << result.error().errorText();
    }
    return result.value();
}

// What alpha's call_catching() returns: ["ok", value] or ["error", message, exception type].
QVariantList callFromAlpha(Plugin *alpha, const QString &target, const QString &function, const QVariantList &arguments, const QVariant &timeout = QVariant())
{
    return valueOf(alpha, QStringLiteral("call_catching"), {target, function, QVariant(arguments), timeout}).toList();
}

// What the plugins logged in `category` since the last call; the rest is dropped.
QList<LogEntry> takeLog(const QString &category)
{
    QList<LogEntry> taken;
    for (const LogEntry &entry : LogCapture::take()) {
        if (entry.category == category) {
            taken.append(entry);
        }
    }
    return taken;
}
} // namespace

class EventsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void testOnlyExportsAreCallable();
    void testExportsAndSubscriptionsFromCpp();
    void testDescribeExports();
    void testEventsReachOtherSubscribersAndTheHost();
    void testEventOrderPerSender();
    void testBroadcastFromTheHost();
    void testRaisingHandlerIsLoggedAndOthersRun();
    void testCallBetweenPlugins();
    void testCallingMissingPluginOrFunction();
    void testCallCycleFailsInsteadOfHanging_data();
    void testCallCycleFailsInsteadOfHanging();
    void testCallTimeout();
    void testUnloadInterruptsTheCallsAPluginWaitsFor();
    void testReentrantExportRunsWhileBusy();
    void testLogCapture();
    void testInfo();
    void testDataDirectoryIsWritable();
    void testPreviousStateAfterReload();
    void testUnloadedPluginHasNoInterface();
    void testTranslations();

private:
    Plugin *plugin(const QString &id) const;
    PluginManager *m_manager = nullptr;
    QTemporaryDir m_dataLocation;
};

void EventsTest::initTestCase()
{
    QVERIFY(m_dataLocation.isValid());
    LogCapture::install("pluginhost.plugin.");
    // Debug lines of plugins must reach the handler: that is what the log test looks at.
    QLoggingCategory::setFilterRules(QStringLiteral("pluginhost.plugin.*.debug=true"));

    m_manager = new PluginManager(this);
    m_manager->setDataLocation(m_dataLocation.path());
    QCOMPARE(m_manager->dataLocation(), m_dataLocation.path());
    m_manager->setSearchPaths({fixtures});
    m_manager->discover();
    for (const QString &id : {alphaId, betaId, gammaId}) {
        const QFuture<CallResult> load = plugin(id)->load();
        QVERIFY(settle(load));
        QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));
    }
}

void EventsTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
    delete m_manager;
    LogCapture::uninstall();
}

void EventsTest::init()
{
    for (const QString &id : {alphaId, betaId}) {
        valueOf(plugin(id), QStringLiteral("clear"));
    }
    takeLog(QString());
}

Plugin *EventsTest::plugin(const QString &id) const
{
    Plugin *found = m_manager->plugin(id);
    if (!found) {
        qFatal("fixture plugin %s not found", qPrintable(id));
    }
    return found;
}

void EventsTest::testOnlyExportsAreCallable()
{
    Plugin *alpha = plugin(alphaId);
    QCOMPARE(valueOf(alpha, QStringLiteral("renamed"), {40}).toLongLong(), 42);

    for (const QString &name : {QStringLiteral("not_exported"), QStringLiteral("original")}) {
        const CallResult refused = resultOf(alpha->call(name));
        QVERIFY(!refused);
        QCOMPARE(refused.error().kind(), PluginError::Kind::NotFound);
        QCOMPARE(refused.error().message(),
                 QStringLiteral("no export '%1'; it exports: ping, renamed, received_events, clear, emit, emit_many, call_catching").arg(name));
    }
}

void EventsTest::testExportsAndSubscriptionsFromCpp()
{
    const QList<PluginExport> exports = plugin(alphaId)->exports();
    QCOMPARE(exports.size(), 7);
    QCOMPARE(exports.at(0), (PluginExport{QStringLiteral("ping"), false}));
    QCOMPARE(exports.at(1), (PluginExport{QStringLiteral("renamed"), true}));

    QCOMPARE(plugin(alphaId)->subscriptions(), QStringList{QStringLiteral("greeting")});
    QCOMPARE(plugin(betaId)->subscriptions(), (QStringList{QStringLiteral("boom"), QStringLiteral("greeting"), QStringLiteral("ordered")}));
    QCOMPARE(plugin(gammaId)->subscriptions(), QStringList{QStringLiteral("boom")});
}

void EventsTest::testDescribeExports()
{
    const QFuture<QVariantList> future = plugin(alphaId)->describeExports();
    QVERIFY(settle(future));
    const QVariantList descriptions = future.result();
    QCOMPARE(descriptions.size(), 7);
    const QVariantMap ping = descriptions.at(0).toMap();
    QCOMPARE(ping.value(QStringLiteral("name")).toString(), QStringLiteral("ping"));
    QCOMPARE(ping.value(QStringLiteral("signature")).toString(), QStringLiteral("(value)"));
    QCOMPARE(ping.value(QStringLiteral("doc")).toString(), QString());
    QCOMPARE(ping.value(QStringLiteral("reentrant")).toBool(), false);
    const QVariantMap renamed = descriptions.at(1).toMap();
    QCOMPARE(renamed.value(QStringLiteral("name")).toString(), QStringLiteral("renamed"));
    QCOMPARE(renamed.value(QStringLiteral("signature")).toString(), QStringLiteral("(a, b=2)"));
    QCOMPARE(renamed.value(QStringLiteral("doc")).toString(), QStringLiteral("Adds two numbers.\n\nThe second one is optional."));
    QCOMPARE(renamed.value(QStringLiteral("reentrant")).toBool(), true);
}

void EventsTest::testEventsReachOtherSubscribersAndTheHost()
{
    QSignalSpy emitted(m_manager, &PluginManager::eventEmitted);
    const QVariantMap payload{{QStringLiteral("text"), QStringLiteral("hi")}, {QStringLiteral("count"), 2}};
    QVERIFY(resultOf(plugin(alphaId)->call(QStringLiteral("emit"), {QStringLiteral("greeting"), payload})));

    QTRY_COMPARE(emitted.size(), 1);
    QCOMPARE(emitted.at(0).at(0).toString(), alphaId);
    QCOMPARE(emitted.at(0).at(1).toString(), QStringLiteral("greeting"));
    QCOMPARE(emitted.at(0).at(2).toMap(), payload); // alpha changed its dict after emitting: a copy crossed

    const QVariantList expected{QVariantList{QStringLiteral("greeting"), payload, alphaId}};
    QTRY_COMPARE(valueOf(plugin(betaId), QStringLiteral("received_events")).toList(), expected);
    // Not to the sender, although it subscribed too; gamma never subscribed.
    QCOMPARE(valueOf(plugin(alphaId), QStringLiteral("received_events")).toList(), QVariantList());
    QVERIFY(!plugin(gammaId)->subscriptions().contains(QStringLiteral("greeting")));
}

void EventsTest::testEventOrderPerSender()
{
    QSignalSpy emitted(m_manager, &PluginManager::eventEmitted);
    const int count = 200;
    QCOMPARE(valueOf(plugin(alphaId), QStringLiteral("emit_many"), {QStringLiteral("ordered"), count}).toInt(), count);

    QVariantList expected;
    for (int index = 0; index < count; ++index) {
        expected.append(index);
    }
    QTRY_COMPARE(valueOf(plugin(betaId), QStringLiteral("received_events")).toList(), expected);
    QTRY_COMPARE(emitted.size(), count);
    for (int index = 0; index < count; ++index) {
        QCOMPARE(emitted.at(index).at(2).toInt(), index);
    }
}

void EventsTest::testBroadcastFromTheHost()
{
    QSignalSpy emitted(m_manager, &PluginManager::eventEmitted);
    m_manager->broadcast(QStringLiteral("greeting"), QStringLiteral("from the host"));
    const QVariantList expected{QVariantList{QStringLiteral("greeting"), QStringLiteral("from the host"), QString()}};
    QTRY_COMPARE(valueOf(plugin(betaId), QStringLiteral("received_events")).toList(), expected);
    QTRY_COMPARE(valueOf(plugin(alphaId), QStringLiteral("received_events")).toList(), expected);
    QCOMPARE(emitted.size(), 0); // the signal is for what plugins emit
}

void EventsTest::testRaisingHandlerIsLoggedAndOthersRun()
{
    m_manager->broadcast(QStringLiteral("boom"));
    QTRY_COMPARE(valueOf(plugin(betaId), QStringLiteral("boom_senders")).toList(), QVariantList{QString()});
    QTRY_COMPARE(valueOf(plugin(gammaId), QStringLiteral("boom_senders")).toList(), QVariantList{QString()});

    const QList<LogEntry> log = takeLog(QStringLiteral("pluginhost.plugin.org.test.beta"));
    QCOMPARE(log.size(), 1);
    QCOMPARE(log.at(0).type, QtCriticalMsg);
    QVERIFY2(log.at(0).message.contains(QStringLiteral("RuntimeError: handler exploded on boom")), qPrintable(log.at(0).message));
    QVERIFY2(log.at(0).message.contains(QStringLiteral("beta.py")), qPrintable(log.at(0).message)); // the traceback
}

void EventsTest::testCallBetweenPlugins()
{
    Plugin *alpha = plugin(alphaId);
    QCOMPARE(callFromAlpha(alpha, betaId, QStringLiteral("add"), {2, 3}), (QVariantList{QStringLiteral("ok"), 5}));
    QCOMPARE(callFromAlpha(alpha, betaId, QStringLiteral("add"), {QStringLiteral("con"), QStringLiteral("cat")}),
             (QVariantList{QStringLiteral("ok"), QStringLiteral("concat")}));

    const QVariantList failed = callFromAlpha(alpha, betaId, QStringLiteral("fail"), {QStringLiteral("bad input")});
    QCOMPARE(failed.value(0).toString(), QStringLiteral("error"));
    QCOMPARE(failed.value(2).toString(), QStringLiteral("PluginError"));
    const QString message = failed.value(1).toString();
    QVERIFY2(message.startsWith(QStringLiteral("org.test.beta: ValueError: bad input")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("beta.py")), qPrintable(message));
}

void EventsTest::testCallingMissingPluginOrFunction()
{
    Plugin *alpha = plugin(alphaId);
    const QVariantList noPlugin = callFromAlpha(alpha, QStringLiteral("org.test.nothere"), QStringLiteral("f"), {});
    QCOMPARE(noPlugin.value(0).toString(), QStringLiteral("error"));
    QCOMPARE(noPlugin.value(2).toString(), QStringLiteral("PluginError"));
    QVERIFY2(noPlugin.value(1).toString().contains(QStringLiteral("no plugin 'org.test.nothere'; loaded: org.test.alpha, org.test.beta, org.test.gamma")),
             qPrintable(noPlugin.value(1).toString()));

    const QVariantList noFunction = callFromAlpha(alpha, betaId, QStringLiteral("nothere"), {});
    QCOMPARE(noFunction.value(0).toString(), QStringLiteral("error"));
    QVERIFY2(noFunction.value(1).toString().contains(QStringLiteral(
                 "no export 'nothere'; it exports: received_events, boom_senders, clear, add, fail, call_back, slow, spin, is_spinning, stop_spinning")),
             qPrintable(noFunction.value(1).toString()));
}

void EventsTest::testCallCycleFailsInsteadOfHanging_data()
{
    QTest::addColumn<QString>("target");
    QTest::addColumn<QString>("function");
    QTest::addColumn<QVariantList>("arguments");
    QTest::addColumn<QString>("cycle");

    QTest::newRow("A -> A") << alphaId << QStringLiteral("ping") << QVariantList{1} << QStringLiteral("call cycle: org.test.alpha → org.test.alpha");
    // beta, running alpha's call, calls alpha back: the error is raised in beta and reaches alpha.
    QTest::newRow("A -> B -> A") << betaId << QStringLiteral("call_back") << QVariantList{alphaId, QStringLiteral("ping"), 1}
                                 << QStringLiteral("call cycle: org.test.beta → org.test.alpha → org.test.beta");
}

void EventsTest::testCallCycleFailsInsteadOfHanging()
{
    QFETCH(QString, target);
    QFETCH(QString, function);
    QFETCH(QVariantList, arguments);
    QFETCH(QString, cycle);

    QElapsedTimer timer;
    timer.start();
    const QVariantList result = callFromAlpha(plugin(alphaId), target, function, arguments);
    QCOMPARE(result.value(0).toString(), QStringLiteral("error"));
    QCOMPARE(result.value(2).toString(), QStringLiteral("PluginError"));
    QVERIFY2(result.value(1).toString().contains(cycle), qPrintable(result.value(1).toString()));
    QVERIFY2(result.value(1).toString().contains(QStringLiteral("would wait forever")), qPrintable(result.value(1).toString()));
    QVERIFY(timer.elapsed() < 10000);
    // Both plugins still answer.
    QCOMPARE(valueOf(plugin(betaId), QStringLiteral("add"), {1, 1}).toInt(), 2);
    QCOMPARE(valueOf(plugin(alphaId), QStringLiteral("ping"), {1}).toList(), (QVariantList{QStringLiteral("pong"), 1}));
}

void EventsTest::testCallTimeout()
{
    const QVariantList result = callFromAlpha(plugin(alphaId), betaId, QStringLiteral("slow"), {0.5}, 0.1);
    QCOMPARE(result.value(0).toString(), QStringLiteral("error"));
    QCOMPARE(result.value(2).toString(), QStringLiteral("TimeoutError"));
    QVERIFY2(result.value(1).toString().contains(QStringLiteral("org.test.beta: slow() did not return within 100 ms")), qPrintable(result.value(1).toString()));
    // The slow call still finishes in beta; calls queued after it run then.
    QCOMPARE(valueOf(plugin(betaId), QStringLiteral("add"), {1, 2}).toInt(), 3);
}

void EventsTest::testUnloadInterruptsTheCallsAPluginWaitsFor()
{
    const auto eventCount = [](const QSignalSpy &spy, const QString &event) {
        return std::count_if(spy.cbegin(), spy.cend(), [&event](const QList<QVariant> &arguments) {
            return arguments.at(1).toString() == event;
        });
    };
    Plugin *alpha = plugin(alphaId);
    QSignalSpy emitted(m_manager, &PluginManager::eventEmitted);
    const QFuture<QVariant> waiting = alpha->call(QStringLiteral("call_catching"), {betaId, QStringLiteral("slow"), QVariantList{3.0}, QVariant()});
    QTRY_COMPARE(eventCount(emitted, QStringLiteral("sleeping")), 1); // beta runs alpha's call: alpha waits

    QVERIFY(settle(alpha->unload()));
    QCOMPARE(eventCount(emitted, QStringLiteral("woke")), 0); // the unload did not wait for beta
    const QVariantList result = resultOf(waiting).value().toList();
    QCOMPARE(result.value(0).toString(), QStringLiteral("error"));
    QVERIFY2(result.value(1).toString().contains(QStringLiteral("org.test.alpha is unloading: it stopped waiting for slow() of org.test.beta")),
             qPrintable(result.value(1).toString()));

    const QFuture<CallResult> load = alpha->load();
    QVERIFY(settle(load));
    QVERIFY(load.result());
    QCOMPARE(valueOf(plugin(betaId), QStringLiteral("add"), {1, 2}).toInt(), 3); // once beta has slept
}

void EventsTest::testReentrantExportRunsWhileBusy()
{
    Plugin *beta = plugin(betaId);
    const QFuture<QVariant> spinning = beta->call(QStringLiteral("spin"));
    QTRY_VERIFY(valueOf(beta, QStringLiteral("is_spinning")).toBool());
    QVERIFY(!spinning.isFinished());
    QVERIFY(resultOf(beta->call(QStringLiteral("stop_spinning"))));
    QCOMPARE(resultOf(spinning).value().toBool(), true); // stopped by the re-entrant call, not by its deadline
}

void EventsTest::testLogCapture()
{
    QVERIFY(resultOf(plugin(gammaId)->call(QStringLiteral("log_all"))));
    const QList<LogEntry> log = takeLog(QStringLiteral("pluginhost.plugin.org.test.gamma"));
    const QList<QPair<QtMsgType, QString>> expected{
        {QtDebugMsg, QStringLiteral("a debug line")},
        {QtInfoMsg, QStringLiteral("an info line")},
        {QtWarningMsg, QStringLiteral("a warning line")},
        {QtCriticalMsg, QStringLiteral("an error line")},
        {QtCriticalMsg, QStringLiteral("a critical line")},
        {QtInfoMsg, QStringLiteral("printed in two writes")}, // print() is line-buffered
        {QtWarningMsg, QStringLiteral("to stderr")},
    };
    QCOMPARE(log.size(), expected.size());
    for (int index = 0; index < expected.size(); ++index) {
        QCOMPARE(log.at(index).type, expected.at(index).first);
        QCOMPARE(log.at(index).message, expected.at(index).second);
    }
    QVERIFY2(log.at(1).file.endsWith(QLatin1String("gamma.py")), qPrintable(log.at(1).file));
    QVERIFY(log.at(1).line > 0);
}

void EventsTest::testInfo()
{
    Plugin *gamma = plugin(gammaId);
    const QVariantMap info = valueOf(gamma, QStringLiteral("info")).toMap();
    QCOMPARE(info.value(QStringLiteral("id")).toString(), gammaId);
    QCOMPARE(info.value(QStringLiteral("version")).toString(), QStringLiteral("0.3.1"));
    QCOMPARE(info.value(QStringLiteral("directory")).toString(), fixtures + QStringLiteral("/gamma"));
    QCOMPARE(info.value(QStringLiteral("data_dir")).toString(), m_dataLocation.path() + QLatin1Char('/') + gammaId);
    QCOMPARE(info.value(QStringLiteral("interpreter_id")).toLongLong(), gamma->interpreterId());
    QCOMPARE(info.value(QStringLiteral("gil")).toString(), QStringLiteral("own"));
}

void EventsTest::testDataDirectoryIsWritable()
{
    const QString path = valueOf(plugin(gammaId), QStringLiteral("write_data"), {QStringLiteral("notes.txt"), QStringLiteral("kept")}).toString();
    QCOMPARE(path, m_dataLocation.path() + QLatin1Char('/') + gammaId + QStringLiteral("/notes.txt"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray("kept"));
}

void EventsTest::testPreviousStateAfterReload()
{
    Plugin *gamma = plugin(gammaId);
    QCOMPARE(valueOf(gamma, QStringLiteral("previous_state")), QVariant());
    for (int loads = 2; loads <= 3; ++loads) {
        const QFuture<CallResult> reload = gamma->reload();
        QVERIFY(settle(reload));
        QVERIFY2(reload.result(), qPrintable(reload.result().error().errorText()));
        const QVariantMap state{{QStringLiteral("loads"), loads - 1}, {QStringLiteral("note"), QStringLiteral("handed over")}};
        QCOMPARE(valueOf(gamma, QStringLiteral("previous_state")).toMap(), state);
    }
    // The reloaded instance subscribed again.
    QCOMPARE(gamma->subscriptions(), QStringList{QStringLiteral("boom")});
}

void EventsTest::testUnloadedPluginHasNoInterface()
{
    Plugin *gamma = plugin(gammaId);
    QVERIFY(settle(gamma->unload()));
    QVERIFY(gamma->exports().isEmpty());
    QVERIFY(gamma->subscriptions().isEmpty());
    const QFuture<QVariantList> description = gamma->describeExports();
    QVERIFY(settle(description));
    bool failed = false;
    try {
        description.result();
    } catch (const CallError &error) {
        failed = error.error().kind() == PluginError::Kind::Unloaded;
    }
    QVERIFY(failed);
    const QVariantList noCall = callFromAlpha(plugin(alphaId), gammaId, QStringLiteral("info"), {});
    QCOMPARE(noCall.value(0).toString(), QStringLiteral("error"));
    QVERIFY2(noCall.value(1).toString().contains(QStringLiteral("not loaded")), qPrintable(noCall.value(1).toString()));
    // Subscribed again once loaded.
    QVERIFY(settle(gamma->load()));
    QCOMPARE(gamma->subscriptions(), QStringList{QStringLiteral("boom")});
}

void EventsTest::testTranslations()
{
    const QLocale previous;
    QLocale::setDefault(QLocale(QLocale::German, QLocale::Germany));
    PluginManager manager;
    manager.setSearchPaths({translatedFixtures});
    manager.discover();
    Plugin *greeter = manager.plugin(QStringLiteral("org.test.greeter"));
    QVERIFY(greeter);
    const QFuture<CallResult> load = greeter->load();
    QVERIFY(settle(load));
    QLocale::setDefault(previous);
    QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));
    QCOMPARE(valueOf(greeter, QStringLiteral("greetings")).toStringList(),
             (QStringList{QStringLiteral("Hallo"), QStringLiteral("Auf Wiedersehen"), QStringLiteral("Guten Morgen"), QStringLiteral("Not in the catalog")}));
}

QTEST_MAIN(EventsTest)

#include "eventstest.moc"
