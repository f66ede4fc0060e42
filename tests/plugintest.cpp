// Plugins end to end: real fixture plugins in real subinterpreters, driven through
// PluginManager and Plugin as an application would.
#include "futurehelpers.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QDateTime>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <thread>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/plugins");
const QString brokenFixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/broken");
const QString entryPointFixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/entrypoints");

CallResult loaded(Plugin *plugin)
{
    const QFuture<CallResult> future = plugin->load();
    if (!settle(future)) {
        return PluginError(PluginError::Kind::TimedOut, plugin->id(), QStringLiteral("load did not finish in 30 s"));
    }
    return future.result();
}
} // namespace

class PluginTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void testDiscoveryReportsBrokenFolders();
    void testLoadAndCall();
    void testStateSignals();
    void testStateSignalsSurviveCallerContinuations();
    void testValuesBothWays_data();
    void testValuesBothWays();
    void testUnsupportedValues();
    void testPythonExceptionHasTraceback();
    void testMissingFunctionListsTheOthers();
    void testCallBeforeLoad();
    void testLoadFailures_data();
    void testLoadFailures();
    void testSinglePhaseExtensionNeedsSharedIsolation();
    void testEntryModuleMustBeThePluginsOwn_data();
    void testEntryModuleMustBeThePluginsOwn();
    void testEntryModuleMayShadowTheStandardLibrary();
    void testCaughtRefusalOfAnExtension();
    void testHooks();
    void testUnloadWithQueuedCalls();
    void testReloadUsesFreshInterpreter();
    void testCallsDuringReloadReachTheNewInstance();
    void testPluginsRunInParallel();
    void testHostStaysResponsiveWhilePluginSpins();
    void testCallBlockingFromWorkerThread();

private:
    Plugin *plugin(const QString &id);
    PluginManager *m_manager = nullptr;
};

void PluginTest::initTestCase()
{
    m_manager = new PluginManager(this);
    m_manager->setSearchPaths({fixtures, brokenFixtures, entryPointFixtures});
    m_manager->discover();
}

void PluginTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
}

Plugin *PluginTest::plugin(const QString &id)
{
    Plugin *found = m_manager->plugin(id);
    if (!found) {
        qFatal("fixture plugin %s not found", qPrintable(id));
    }
    return found;
}

void PluginTest::testDiscoveryReportsBrokenFolders()
{
    QVERIFY(m_manager->plugin(QStringLiteral("org.test.basic")));
    // broken/duplicate has the id of basic, in the earlier search path: it is shadowed. The other broken folders are failures.
    QCOMPARE(m_manager->plugin(QStringLiteral("org.test.basic"))->metaData().directory(), fixtures + QStringLiteral("/basic"));
    QCOMPARE(m_manager->shadowed().size(), 1);
    QCOMPARE(m_manager->shadowed().at(0).directory, brokenFixtures + QStringLiteral("/duplicate"));
    QStringList failedFolders;
    for (const PluginMetaData::Failure &failure : m_manager->failures()) {
        failedFolders.append(QFileInfo(failure.directory).fileName());
        QVERIFY2(!failure.errorText.isEmpty(), qPrintable(failure.directory));
    }
    failedFolders.sort();
    QCOMPARE(failedFolders, (QStringList{QStringLiteral("badapi"), QStringLiteral("badjson"), QStringLiteral("missingentry")}));
    QVERIFY(!m_manager->plugin(QStringLiteral("org.test.badapi")));
}

void PluginTest::testLoadAndCall()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    const CallResult load = loaded(basic);
    QVERIFY2(load, qPrintable(load.error().errorText()));
    QCOMPARE(basic->state(), Plugin::State::Loaded);
    QVERIFY(basic->interpreterId() > 0);
    QCOMPARE(basic->gil(), Plugin::Gil::Own);

    const CallResult sum = resultOf(basic->call(QStringLiteral("add"), {2, 40}));
    QVERIFY2(sum, qPrintable(sum.error().errorText()));
    QCOMPARE(sum.value().toLongLong(), 42);
    // Loading again is a no-op while loaded.
    const qint64 interpreter = basic->interpreterId();
    QVERIFY(loaded(basic));
    QCOMPARE(basic->interpreterId(), interpreter);
}

void PluginTest::testStateSignals()
{
    Plugin *hooks = plugin(QStringLiteral("org.test.hooks"));
    QSignalSpy spy(hooks, &Plugin::stateChanged);
    QSignalSpy managerSpy(m_manager, &PluginManager::pluginStateChanged);
    QVERIFY(loaded(hooks));
    QTRY_COMPARE(spy.size(), 2);
    QCOMPARE(spy.at(0).at(0).value<Plugin::State>(), Plugin::State::Loading);
    QCOMPARE(spy.at(1).at(0).value<Plugin::State>(), Plugin::State::Loaded);
    QCOMPARE(managerSpy.size(), 2);
    QCOMPARE(managerSpy.at(1).at(0).value<Plugin *>(), hooks);
    QVERIFY(settle(hooks->unload()));
    QTRY_COMPARE(spy.size(), 4);
    QCOMPARE(spy.at(2).at(0).value<Plugin::State>(), Plugin::State::Unloading);
    QCOMPARE(spy.at(3).at(0).value<Plugin::State>(), Plugin::State::Unloaded);
    QCOMPARE(hooks->interpreterId(), -1);
}

void PluginTest::testStateSignalsSurviveCallerContinuations()
{
    // A Qt 6.4 future keeps a single continuation: the caller's own .then() on load() must not
    // take the place of the SDK's, and loadAll() must not take the caller's.
    Plugin *hooks = plugin(QStringLiteral("org.test.hooks"));
    QVERIFY(settle(hooks->unload()));
    QSignalSpy spy(hooks, &Plugin::stateChanged);
    bool continued = false;
    hooks->load().then(this, [&continued](const CallResult &result) {
        continued = bool(result);
    });
    QTRY_VERIFY(continued);
    QTRY_COMPARE(spy.size(), 2);
    QCOMPARE(spy.at(1).at(0).value<Plugin::State>(), Plugin::State::Loaded);

    QVERIFY(settle(hooks->unload()));
    spy.clear();
    const QFuture<void> all = m_manager->loadAll();
    QVERIFY(settle(all));
    QCOMPARE(hooks->state(), Plugin::State::Loaded);
    QTRY_VERIFY(spy.size() >= 2);
    QCOMPARE(spy.last().at(0).value<Plugin::State>(), Plugin::State::Loaded);
    QVERIFY(settle(m_manager->unloadAll()));
}

void PluginTest::testValuesBothWays_data()
{
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<QString>("pythonType");
    QTest::addColumn<QVariant>("expected");

    QTest::newRow("none") << QVariant() << QStringLiteral("NoneType") << QVariant();
    QTest::newRow("true") << QVariant(true) << QStringLiteral("bool") << QVariant(true);
    QTest::newRow("int") << QVariant(-7) << QStringLiteral("int") << QVariant(qlonglong(-7));
    QTest::newRow("int64 max") << QVariant(std::numeric_limits<qlonglong>::max()) << QStringLiteral("int") << QVariant(std::numeric_limits<qlonglong>::max());
    QTest::newRow("float") << QVariant(2.5) << QStringLiteral("float") << QVariant(2.5);
    QTest::newRow("str") << QVariant(QStringLiteral("Grüße 🎉")) << QStringLiteral("str") << QVariant(QStringLiteral("Grüße 🎉"));
    QTest::newRow("bytes") << QVariant(QByteArray("\0\1\2", 3)) << QStringLiteral("bytes") << QVariant(QByteArray("\0\1\2", 3));
    const QVariantList list{1, QStringLiteral("two"), QVariantList{3.0}};
    QTest::newRow("list") << QVariant(list) << QStringLiteral("list") << QVariant(QVariantList{qlonglong(1), QStringLiteral("two"), QVariantList{3.0}});
    const QVariantMap map{{QStringLiteral("title"), QStringLiteral("Song")}, {QStringLiteral("tags"), QStringList{QStringLiteral("a")}}};
    QTest::newRow("map") << QVariant(map) << QStringLiteral("dict")
                         << QVariant(QVariantMap{{QStringLiteral("title"), QStringLiteral("Song")}, {QStringLiteral("tags"), QVariantList{QStringLiteral("a")}}});
}

void PluginTest::testValuesBothWays()
{
    QFETCH(QVariant, value);
    QFETCH(QString, pythonType);
    QFETCH(QVariant, expected);
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));

    const CallResult types = resultOf(basic->call(QStringLiteral("types"), {value}));
    QVERIFY2(types, qPrintable(types.error().errorText()));
    QCOMPARE(types.value().toList().value(0).toString(), pythonType);

    const CallResult echoed = resultOf(basic->call(QStringLiteral("echo"), {value}));
    QVERIFY2(echoed, qPrintable(echoed.error().errorText()));
    QCOMPARE(echoed.value().toList().value(0), expected);
}

void PluginTest::testUnsupportedValues()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));

    const CallResult badArgument = resultOf(basic->call(QStringLiteral("echo"), {1, QVariantMap{{QStringLiteral("when"), QDateTime::currentDateTime()}}}));
    QVERIFY(!badArgument);
    QCOMPARE(badArgument.error().kind(), PluginError::Kind::InvalidValue);
    QVERIFY2(badArgument.error().message().contains(QLatin1String("args[1][\"when\"]")), qPrintable(badArgument.error().message()));
    QVERIFY(badArgument.error().message().contains(QLatin1String("QDateTime")));

    const CallResult badResult = resultOf(basic->call(QStringLiteral("returns_set")));
    QCOMPARE(badResult.error().kind(), PluginError::Kind::InvalidValue);
    QCOMPARE(badResult.error().pythonType(), QStringLiteral("TypeError"));
    QVERIFY2(badResult.error().message().contains(QLatin1String("the result of returns_set()")), qPrintable(badResult.error().message()));
    QVERIFY(badResult.error().message().contains(QLatin1String("set")));

    const CallResult nested = resultOf(basic->call(QStringLiteral("returns_nested_bad")));
    QVERIFY2(nested.error().message().contains(QLatin1String("the result of returns_nested_bad()[\"album\"][\"cover\"]")), qPrintable(nested.error().message()));

    // The plugin is unharmed.
    QCOMPARE(resultOf(basic->call(QStringLiteral("add"), {1, 1})).value().toInt(), 2);
}

void PluginTest::testPythonExceptionHasTraceback()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));
    const CallResult failed = resultOf(basic->call(QStringLiteral("fail"), {QStringLiteral("disk on fire")}));
    QVERIFY(!failed);
    const PluginError error = failed.error();
    QCOMPARE(error.kind(), PluginError::Kind::PythonException);
    QCOMPARE(error.pluginId(), QStringLiteral("org.test.basic"));
    QCOMPARE(error.pythonType(), QStringLiteral("ValueError"));
    QCOMPARE(error.message(), QStringLiteral("disk on fire"));
    QVERIFY(error.fileName().endsWith(QLatin1String("basic/basic/__init__.py")));
    QCOMPARE(error.line(), 26);
    QVERIFY(error.traceback().contains(QLatin1String("Traceback (most recent call last)")));
    QVERIFY(error.traceback().contains(QLatin1String("line 26, in fail")));
    QVERIFY(error.errorText().startsWith(QLatin1String("org.test.basic: ValueError: disk on fire (")));

    // The QFuture itself fails with a CallError, for .onFailed() handlers.
    QFuture<QVariant> future = basic->call(QStringLiteral("fail"), {QStringLiteral("again")});
    QVERIFY(settle(future));
    bool caught = false;
    try {
        future.result();
    } catch (const CallError &failure) {
        caught = failure.error().message() == QLatin1String("again");
    }
    QVERIFY(caught);
}

void PluginTest::testMissingFunctionListsTheOthers()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));
    for (const QString &name : {QStringLiteral("nope"), QStringLiteral("_private"), QStringLiteral("NOT_CALLABLE")}) {
        const CallResult missing = resultOf(basic->call(name));
        QCOMPARE(missing.error().kind(), PluginError::Kind::NotFound);
        QVERIFY2(missing.error().message().contains(QStringLiteral("no function '%1'").arg(name)), qPrintable(missing.error().message()));
        const QString available = missing.error().message().section(QLatin1String("it has: "), 1);
        QVERIFY2(available.startsWith(QLatin1String("add, echo, fail, increment")), qPrintable(available));
        QVERIFY(!available.contains(QLatin1String("_private")));
        QVERIFY(!available.contains(QLatin1String("NOT_CALLABLE")));
    }
}

void PluginTest::testCallBeforeLoad()
{
    Plugin *spinner = plugin(QStringLiteral("org.test.spinner"));
    QCOMPARE(spinner->state(), Plugin::State::Unloaded);
    const CallResult result = resultOf(spinner->call(QStringLiteral("ping")));
    QCOMPARE(result.error().kind(), PluginError::Kind::Unloaded);
    QVERIFY(result.error().message().contains(QLatin1String("not loaded")));
}

void PluginTest::testLoadFailures_data()
{
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("pythonType");
    QTest::addColumn<QString>("fileSuffix");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("messagePart");

    QTest::newRow("syntax error") << QStringLiteral("org.test.syntaxerror") << QStringLiteral("SyntaxError") << QStringLiteral("syntaxerror/broken.py") << 4
                                  << QStringLiteral("invalid syntax");
    QTest::newRow("raises on import") << QStringLiteral("org.test.importraises") << QStringLiteral("RuntimeError")
                                      << QStringLiteral("importraises/raiser/helper.py") << 4 << QStringLiteral("cannot start: no configuration");
    QTest::newRow("on_load raises") << QStringLiteral("org.test.onloadraises") << QStringLiteral("KeyError") << QStringLiteral("onloadraises/onloadraises.py") << 2
                                    << QStringLiteral("missing-setting");
}

void PluginTest::testLoadFailures()
{
    QFETCH(QString, id);
    QFETCH(QString, pythonType);
    QFETCH(QString, fileSuffix);
    QFETCH(int, line);
    QFETCH(QString, messagePart);

    Plugin *broken = plugin(id);
    QFuture<QVariant> queuedCall = broken->call(QStringLiteral("anything")); // before load: refused
    const QFuture<CallResult> load = broken->load();
    QFuture<QVariant> callWhileLoading = broken->call(QStringLiteral("anything"));
    QVERIFY(settle(load));
    const PluginError error = load.result().error();
    QCOMPARE(error.kind(), PluginError::Kind::LoadFailed);
    QCOMPARE(error.pluginId(), id);
    QCOMPARE(error.pythonType(), pythonType);
    QVERIFY2(error.message().contains(messagePart), qPrintable(error.message()));
    QVERIFY2(error.fileName().endsWith(fileSuffix), qPrintable(error.fileName()));
    QCOMPARE(error.line(), line);
    QCOMPARE(broken->state(), Plugin::State::Failed);
    QCOMPARE(broken->lastError().pythonType(), pythonType);

    // A call queued behind the failed load fails with the load error; later calls too.
    const CallResult waited = resultOf(callWhileLoading);
    QCOMPARE(waited.error().kind(), PluginError::Kind::LoadFailed);
    QCOMPARE(waited.error().pythonType(), pythonType);
    const CallResult later = resultOf(broken->call(QStringLiteral("anything")));
    QVERIFY(later.error().message().contains(QLatin1String("failed to load")));
    QCOMPARE(resultOf(queuedCall).error().kind(), PluginError::Kind::Unloaded);

    // Nothing else is affected.
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));
    QCOMPARE(resultOf(basic->call(QStringLiteral("add"), {1, 2})).value().toInt(), 3);
}

void PluginTest::testEntryModuleMustBeThePluginsOwn_data()
{
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("ownFile"); // in the fixture's folder
    QTest::addColumn<QString>("why");
    QTest::addColumn<QString>("foundAt"); // where the module that would have run instead is

    const QString importedFirst = QStringLiteral("before the plugin runs");
    const QString outside = QStringLiteral("outside the plugin's folder");
    // Imported by the interpreter itself, before any plugin code.
    QTest::newRow("sys") << QStringLiteral("org.test.entry.sys") << QStringLiteral("sys/sys.py") << importedFirst << QStringLiteral("from CPython itself (built-in)");
    QTest::newRow("encodings") << QStringLiteral("org.test.entry.encodings") << QStringLiteral("encodings/encodings/__init__.py") << importedFirst
                               << QStringLiteral("/encodings/__init__.py");
    QTest::newRow("__main__") << QStringLiteral("org.test.entry.main") << QStringLiteral("main/__main__.py") << importedFirst << QStringLiteral("from the interpreter itself (it has no file)");
    // Not imported yet, but found before the plugin's folder: os is frozen into CPython.
    QTest::newRow("os") << QStringLiteral("org.test.entry.os") << QStringLiteral("os/os.py") << outside << QStringLiteral("/os.py");
    // The folder's json/ has no __init__.py: the standard library's package json comes first.
    QTest::newRow("json.decoder") << QStringLiteral("org.test.entry.jsondecoder") << QStringLiteral("jsondecoder/json/decoder.py") << outside
                                  << QStringLiteral("/json/decoder.py");
}

void PluginTest::testEntryModuleMustBeThePluginsOwn()
{
    QFETCH(QString, id);
    QFETCH(QString, ownFile);
    QFETCH(QString, why);
    QFETCH(QString, foundAt);

    Plugin *misnamed = plugin(id);
    const QFuture<CallResult> load = misnamed->load();
    QVERIFY(settle(load));
    const PluginError error = load.result().error();
    QCOMPARE(error.kind(), PluginError::Kind::LoadFailed);
    QCOMPARE(error.pluginId(), id);
    const QString message = error.message();
    QVERIFY2(message.contains(QStringLiteral("\"%1\"").arg(misnamed->metaData().entryPoint())), qPrintable(message));
    QVERIFY2(message.contains(why), qPrintable(message));
    QVERIFY2(message.contains(foundAt), qPrintable(message));
    QVERIFY2(message.contains(entryPointFixtures + u'/' + ownFile), qPrintable(message)); // what never ran
    QVERIFY2(message.contains(QStringLiteral("rename the plugin's package")), qPrintable(message));
    QVERIFY2(message.contains(misnamed->metaData().metaDataFile()), qPrintable(message));
    QCOMPARE(misnamed->state(), Plugin::State::Failed);
}

void PluginTest::testEntryModuleMayShadowTheStandardLibrary()
{
    // The plugin's own package calendar/ comes first on its sys.path: its own, so it loads.
    Plugin *shadowing = plugin(QStringLiteral("org.test.entry.calendar"));
    const CallResult load = loaded(shadowing);
    QVERIFY2(load, qPrintable(load.error().errorText()));
    const CallResult where = resultOf(shadowing->call(QStringLiteral("where")));
    QVERIFY2(where, qPrintable(where.error().errorText()));
    QCOMPARE(where.value().toString(), entryPointFixtures + QStringLiteral("/calendar/calendar/__init__.py"));
    QVERIFY(settle(shadowing->unload()));
}

void PluginTest::testSinglePhaseExtensionNeedsSharedIsolation()
{
    Plugin *isolated = plugin(QStringLiteral("org.test.singlephase"));
    const CallResult refused = loaded(isolated);
    QVERIFY(!refused);
    QCOMPARE(refused.error().pythonType(), QStringLiteral("ImportError"));
    const QString message = refused.error().message();
    QVERIFY2(message.contains(QLatin1String("'_testsinglephase'")), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("\"X-PluginHost-Isolation\": \"shared\"")), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("singlephase/metadata.json")), qPrintable(message));

    Plugin *shared = plugin(QStringLiteral("org.test.singlephaseshared"));
    const CallResult accepted = loaded(shared);
    if (Runtime::pythonVersion().startsWith(QLatin1String("3.12."))) {
        // CPython 3.12 ran the refused extension's init in the isolated interpreter; loading it
        // again would crash the process, so the SDK refuses it for the rest of the process.
        QVERIFY(!accepted);
        const QString refusal = accepted.error().message();
        QVERIFY2(refusal.contains(QLatin1String("'_testsinglephase' was refused by the isolated plugin org.test.singlephase")), qPrintable(refusal));
        QVERIFY(refusal.contains(QLatin1String("restart the host")));
        return;
    }
    QVERIFY2(accepted, qPrintable(accepted.error().errorText()));
    QCOMPARE(shared->gil(), Plugin::Gil::Shared);
    QCOMPARE(resultOf(shared->call(QStringLiteral("ping"))).value().toString(), QStringLiteral("pong"));
    QVERIFY(settle(shared->unload()));
}

// `import datetime` on CPython 3.12: the isolated interpreter refuses _datetime and datetime
// catches that. The interpreters that follow (a reload, another plugin) must not run _datetime's
// init again (it would free the first interpreter's memory and abort the process).
void PluginTest::testCaughtRefusalOfAnExtension()
{
    Plugin *fallback = plugin(QStringLiteral("org.test.fallback"));
    QVERIFY(loaded(fallback));
    const QString expected = Runtime::pythonVersion().startsWith(QLatin1String("3.12.")) ? QStringLiteral("_pydatetime") : QStringLiteral("datetime");
    for (int instance = 0; instance < 4; ++instance) {
        QCOMPARE(resultOf(fallback->call(QStringLiteral("implementation"))).value().toString(), expected);
        QCOMPARE(resultOf(fallback->call(QStringLiteral("tomorrow"), {QStringLiteral("2024-02-28")})).value().toString(), QStringLiteral("2024-02-29"));
        const QFuture<CallResult> reload = fallback->reload();
        QVERIFY(settle(reload));
        QVERIFY2(reload.result(), qPrintable(reload.result().error().errorText()));
    }
    QVERIFY(settle(fallback->unload()));
}

void PluginTest::testHooks()
{
    Plugin *hooks = plugin(QStringLiteral("org.test.hooks"));
    QVERIFY(loaded(hooks));
    QCOMPARE(resultOf(hooks->call(QStringLiteral("is_loaded"))).value().toBool(), true);
    const QFuture<CallResult> unload = hooks->unload();
    QVERIFY(settle(unload));
    const CallResult handedOver = unload.result();
    QVERIFY2(handedOver, qPrintable(handedOver.error().errorText()));
    QCOMPARE(handedOver.value().toMap().value(QStringLiteral("saved")).toString(), QStringLiteral("state"));
    QCOMPARE(handedOver.value().toMap().value(QStringLiteral("count")).toInt(), 3);
    QCOMPARE(hooks->state(), Plugin::State::Unloaded);
}

void PluginTest::testUnloadWithQueuedCalls()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));
    QList<QFuture<QVariant>> calls{basic->call(QStringLiteral("sleep"), {0.3})};
    for (int i = 0; i < 50; ++i) {
        calls.append(basic->call(QStringLiteral("echo"), {i}));
    }
    const QFuture<CallResult> unload = basic->unload();
    QVERIFY(settle(unload));
    int succeeded = 0;
    int unloaded = 0;
    for (const QFuture<QVariant> &call : std::as_const(calls)) {
        QVERIFY(settle(call, 5000));
        const CallResult result = CallResult::fromFuture(call);
        if (result) {
            ++succeeded;
        } else {
            QCOMPARE(result.error().kind(), PluginError::Kind::Unloaded);
            ++unloaded;
        }
    }
    QCOMPARE(succeeded + unloaded, calls.size());
    QVERIFY(unloaded >= 50); // the sleeping call was running; everything behind it was dropped
    QCOMPARE(basic->state(), Plugin::State::Unloaded);
    QCOMPARE(resultOf(basic->call(QStringLiteral("add"), {1, 1})).error().kind(), PluginError::Kind::Unloaded);
}

void PluginTest::testReloadUsesFreshInterpreter()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));
    resultOf(basic->call(QStringLiteral("increment")));
    QCOMPARE(resultOf(basic->call(QStringLiteral("increment"))).value().toInt(), 2);
    const qint64 before = basic->interpreterId();

    const QFuture<CallResult> reload = basic->reload();
    QVERIFY(settle(reload));
    QVERIFY2(reload.result(), qPrintable(reload.result().error().errorText()));
    QCOMPARE(basic->state(), Plugin::State::Loaded);
    QVERIFY(basic->interpreterId() > 0);
    QVERIFY(basic->interpreterId() != before);
    QCOMPARE(resultOf(basic->call(QStringLiteral("increment"))).value().toInt(), 1); // module globals start over
}

void PluginTest::testCallsDuringReloadReachTheNewInstance()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));
    QCOMPARE(resultOf(basic->call(QStringLiteral("increment"))).value().toInt() > 0, true);
    QFuture<QVariant> busy = basic->call(QStringLiteral("sleep"), {0.2});
    QFuture<QVariant> queuedBefore = basic->call(QStringLiteral("increment"));
    const QFuture<CallResult> reload = basic->reload();
    QFuture<QVariant> queuedAfter = basic->call(QStringLiteral("increment"));
    QVERIFY(settle(reload));
    QVERIFY(resultOf(busy)); // it was running in the old instance and finished there
    // Both queued calls ran in the new instance, in order: its counter starts at zero.
    QCOMPARE(resultOf(queuedBefore).value().toInt(), 1);
    QCOMPARE(resultOf(queuedAfter).value().toInt(), 2);
}

void PluginTest::testPluginsRunInParallel()
{
    Plugin *first = plugin(QStringLiteral("org.test.cpua"));
    Plugin *second = plugin(QStringLiteral("org.test.cpub"));
    QVERIFY(loaded(first));
    QVERIFY(loaded(second));
    QCOMPARE(first->gil(), Plugin::Gil::Own);
    // Calibrate: about 0.4 s of pure Python work on this machine.
    qlonglong iterations = 200000;
    for (;;) {
        const QVariantList run = resultOf(first->call(QStringLiteral("work"), {iterations})).value().toList();
        if (run.value(1).toDouble() - run.value(0).toDouble() > 0.2 || iterations > 1'000'000'000) {
            break;
        }
        iterations *= 2;
    }
    iterations *= 2;
    const QFuture<QVariant> a = first->call(QStringLiteral("work"), {iterations});
    const QFuture<QVariant> b = second->call(QStringLiteral("work"), {iterations});
    const QVariantList runA = resultOf(a).value().toList();
    const QVariantList runB = resultOf(b).value().toList();
    QCOMPARE(runA.size(), 3);
    QCOMPARE(runB.size(), 3);
    const double startA = runA.at(0).toDouble(), endA = runA.at(1).toDouble();
    const double startB = runB.at(0).toDouble(), endB = runB.at(1).toDouble();
    const double overlap = std::min(endA, endB) - std::max(startA, startB);
    const double shorter = std::min(endA - startA, endB - startB);
    qInfo("each run %.3f s / %.3f s, overlapping %.3f s", endA - startA, endB - startB, overlap);
    // With one shared GIL the runs would alternate and barely overlap; with a GIL each, they
    // run side by side on the two cores for most of their length.
    QVERIFY2(overlap > 0.5 * shorter, qPrintable(QStringLiteral("overlap %1 s of %2 s").arg(overlap).arg(shorter)));
}

void PluginTest::testHostStaysResponsiveWhilePluginSpins()
{
    Plugin *spinner = plugin(QStringLiteral("org.test.spinner"));
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(spinner));
    QVERIFY(loaded(basic));
    const QString flag = QDir::temp().filePath(QStringLiteral("pluginhost-spin-%1").arg(QCoreApplication::applicationPid()));
    QFile::remove(flag);

    QFuture<QVariant> spinning = spinner->call(QStringLiteral("spin_until"), {flag});
    int ticks = 0;
    QTimer timer;
    timer.setInterval(10);
    connect(&timer, &QTimer::timeout, this, [&ticks] {
        ++ticks;
    });
    timer.start();
    // While it spins: the event loop turns, other plugins answer, and its own calls queue.
    QFuture<QVariant> queued = spinner->call(QStringLiteral("ping"));
    for (int i = 0; i < 20; ++i) {
        QCOMPARE(resultOf(basic->call(QStringLiteral("add"), {i, 1})).value().toInt(), i + 1);
    }
    QTest::qWait(300);
    QVERIFY2(ticks >= 15, qPrintable(QStringLiteral("only %1 timer ticks in >300 ms").arg(ticks)));
    QVERIFY(!spinning.isFinished());
    QVERIFY(!queued.isFinished());

    QFile file(flag);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    QVERIFY(resultOf(spinning).value().toLongLong() > 0);
    QCOMPARE(resultOf(queued).value().toString(), QStringLiteral("pong"));
    QFile::remove(flag);
}

void PluginTest::testCallBlockingFromWorkerThread()
{
    Plugin *basic = plugin(QStringLiteral("org.test.basic"));
    QVERIFY(loaded(basic));
    CallResult sum;
    CallResult timedOut;
    std::thread worker([&] {
        sum = basic->callBlocking(QStringLiteral("add"), {20, 22});
        timedOut = basic->callBlocking(QStringLiteral("sleep"), {0.5}, 50ms);
    });
    worker.join();
    QVERIFY2(sum, qPrintable(sum.error().errorText()));
    QCOMPARE(sum.value().toInt(), 42);
    QCOMPARE(timedOut.error().kind(), PluginError::Kind::TimedOut);
    QVERIFY(timedOut.error().message().contains(QLatin1String("sleep() did not return within 50 ms")));
}

QTEST_GUILESS_MAIN(PluginTest)

#include "plugintest.moc"
