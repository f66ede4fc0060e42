// Coroutines in plugins: `async def` exports and handlers on the SDK's asyncio loop, the
// mailbox reaching a plugin idle in select(), cancellation of async calls, unload with tasks
// pending, and pluginhost.sleep(), with real fixture plugins (tests/data/asyncio).
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "futurehelpers.h"
#include "loghelpers.h"
#include "runtime/interpreter.h"

#include <PluginHost/PluginManager>

#include <QElapsedTimer>
#include <QFile>
#include <QLoggingCategory>
#include <QTemporaryDir>
#include <QTest>

#include <future>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/asyncio");
const QString aioId = QStringLiteral("org.test.aio");
const QString plainId = QStringLiteral("org.test.plain");
const QString lingeringId = QStringLiteral("org.test.lingering");

QVariant valueOf(Plugin *plugin, const QString &function, const QVariantList &arguments = {})
{
    const CallResult result = resultOf(plugin->call(function, arguments));
    if (!result) {
        qWarning().noquote() << "call failed:" << result.error().errorText();
    }
    return result.value();
}

// What was logged since the last call, as "category: message".
QStringList takeLog()
{
    QStringList lines;
    for (const LogEntry &entry : LogCapture::take()) {
        lines.append(entry.category + QStringLiteral(": ") + entry.message);
    }
    return lines;
}

QVariantMap historyOf(Plugin *plugin)
{
    return valueOf(plugin, QStringLiteral("history")).toMap();
}
} // namespace

class AsyncioTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void testAsyncExportReturnsValue();
    void testAsyncCallsOverlap();
    void testAsyncHandlersReceiveEvents();
    void testSyncCallsWhileTasksPending();
    void testCancelCancelsTheTask();
    void testDeadlineCancelsTheTask();
    void testDeadlineInterruptsASpinningTask();
    void testDeadlineEndsATaskBlockedInC();
    void testDeadlineOfATaskHeldUpByAnother();
    void testSnapshotOfASpinningTask();
    void testErrorInCoroutineCarriesTraceback();
    void testUnconvertibleResult();
    void testPluginWithoutCoroutinesDoesNotImportAsyncio();
    void testSleepRunsReentrantCalls();
    void testSleepEndsEarly_data();
    void testSleepEndsEarly();
    void testInterpreterSleepEndsOnInterrupt();
    void testUnloadCancelsPendingTasks_data();
    void testUnloadCancelsPendingTasks();

private:
    Plugin *plugin(const QString &id) const;
    PluginManager *m_manager = nullptr;
    QTemporaryDir m_dataLocation;
};

void AsyncioTest::initTestCase()
{
    QVERIFY(m_dataLocation.isValid());
    LogCapture::install("pluginhost.");
    m_manager = new PluginManager(this);
    m_manager->setDataLocation(m_dataLocation.path());
    m_manager->setProfileDirectory(m_dataLocation.path());
    m_manager->setSearchPaths({fixtures});
    m_manager->discover();
    for (const QString &id : {aioId, plainId}) {
        const QFuture<CallResult> load = plugin(id)->load();
        QVERIFY(settle(load));
        QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));
    }
}

void AsyncioTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
    delete m_manager;
    LogCapture::uninstall();
}

void AsyncioTest::init()
{
    valueOf(plugin(aioId), QStringLiteral("clear"));
    takeLog();
}

Plugin *AsyncioTest::plugin(const QString &id) const
{
    Plugin *found = m_manager->plugin(id);
    if (!found) {
        qFatal("fixture plugin %s not found", qPrintable(id));
    }
    return found;
}

void AsyncioTest::testAsyncExportReturnsValue()
{
    Plugin *aio = plugin(aioId);
    QCOMPARE(valueOf(aio, QStringLiteral("add"), {2, 3}).toLongLong(), 5);
    QCOMPARE(valueOf(aio, QStringLiteral("add"), {QStringLiteral("a"), QStringLiteral("b")}).toString(), QStringLiteral("ab"));
    // The coroutine runs on the plugin's own thread, in the loop asyncio.get_event_loop() gives.
    QCOMPARE(valueOf(aio, QStringLiteral("on_plugin_thread")).toBool(), true);
}

void AsyncioTest::testAsyncCallsOverlap()
{
    Plugin *aio = plugin(aioId);
    const QFuture<QVariant> slow = aio->call(QStringLiteral("delayed"), {QStringLiteral("slow"), 0.4});
    const QFuture<QVariant> fast = aio->call(QStringLiteral("delayed"), {QStringLiteral("fast"), 0.05});
    QCOMPARE(resultOf(fast).value().toString(), QStringLiteral("fast"));
    QVERIFY(!slow.isFinished()); // the second call did not wait for the first
    QCOMPARE(resultOf(slow).value().toString(), QStringLiteral("slow"));
    const QStringList steps = historyOf(aio).value(QStringLiteral("steps")).toStringList();
    QCOMPARE(steps, (QStringList{QStringLiteral("start slow"), QStringLiteral("start fast"), QStringLiteral("end fast"), QStringLiteral("end slow")}));
}

void AsyncioTest::testAsyncHandlersReceiveEvents()
{
    Plugin *aio = plugin(aioId);
    for (int payload = 1; payload <= 3; ++payload) {
        m_manager->broadcast(QStringLiteral("tick"), payload);
    }
    QTRY_COMPARE(historyOf(aio).value(QStringLiteral("events")).toList(), (QVariantList{1, 2, 3}));

    // The other handler raised in each of its tasks: logged with the coroutine's traceback.
    QStringList raised;
    QTRY_VERIFY([&] {
        for (const QString &line : takeLog()) {
            if (line.contains(QLatin1String("a handler of event 'tick' raised"))) {
                raised.append(line);
            }
        }
        return raised.size() == 3;
    }());
    QVERIFY2(raised.at(0).contains(QLatin1String("RuntimeError: handler saw 1")), qPrintable(raised.at(0)));
    QVERIFY2(raised.at(0).contains(QLatin1String("in on_tick_raises")), qPrintable(raised.at(0)));
}

void AsyncioTest::testSyncCallsWhileTasksPending()
{
    Plugin *aio = plugin(aioId);
    QFuture<QVariant> pending = aio->call(QStringLiteral("forever"), {QStringLiteral("background")});
    QTRY_VERIFY(historyOf(aio).value(QStringLiteral("steps")).toStringList().contains(QStringLiteral("start background")));

    // The thread sits in the loop's select(); calls reach it through the eventfd. callBlocking()
    // waits without the test's event-loop polling, so the round trips can be compared.
    for (Plugin *target : {aio, plugin(plainId)}) {
        const int rounds = 200;
        QElapsedTimer clock;
        clock.start();
        for (int round = 0; round < rounds; ++round) {
            const CallResult pong = target->callBlocking(target == aio ? QStringLiteral("sync_ping") : QStringLiteral("ping"), {round});
            QCOMPARE(pong.value().toList(), (QVariantList{QStringLiteral("pong"), round}));
        }
        qInfo("sync call round trip, %s: %.1f us on average",
              target == aio ? "plugin idle in its asyncio loop's select()" : "plugin without a loop",
              double(clock.nsecsElapsed()) / rounds / 1000.0);
    }
    QCOMPARE(valueOf(aio, QStringLiteral("add"), {20, 22}).toLongLong(), 42);
    QCOMPARE(valueOf(aio, QStringLiteral("pending_tasks")).toStringList(), QStringList{QStringLiteral("forever")});
    QVERIFY(!pending.isFinished());

    pending.cancel();
    QTRY_COMPARE(historyOf(aio).value(QStringLiteral("cancelled")).toStringList(), QStringList{QStringLiteral("background")});
    QTRY_COMPARE(valueOf(aio, QStringLiteral("pending_tasks")).toStringList(), QStringList());
}

void AsyncioTest::testCancelCancelsTheTask()
{
    Plugin *aio = plugin(aioId);
    QFuture<QVariant> victim = aio->call(QStringLiteral("forever"), {QStringLiteral("victim")});
    QFuture<QVariant> bystander = aio->call(QStringLiteral("delayed"), {QStringLiteral("bystander"), 0.2});
    QTRY_VERIFY(historyOf(aio).value(QStringLiteral("steps")).toStringList().contains(QStringLiteral("start victim")));

    QElapsedTimer clock;
    clock.start();
    victim.cancel();
    QTRY_COMPARE(historyOf(aio).value(QStringLiteral("cancelled")).toStringList(), QStringList{QStringLiteral("victim")});
    qInfo("QFuture::cancel() to asyncio.CancelledError seen by the plugin: %.1f ms", double(clock.nsecsElapsed()) / 1e6);
    QVERIFY(victim.isCanceled());
    QVERIFY(settle(victim));

    // Only that task: the other call finishes normally, and the plugin keeps working.
    QCOMPARE(resultOf(bystander).value().toString(), QStringLiteral("bystander"));
    QCOMPARE(valueOf(aio, QStringLiteral("add"), {1, 1}).toLongLong(), 2);
}

void AsyncioTest::testDeadlineCancelsTheTask()
{
    Plugin *aio = plugin(aioId);
    QElapsedTimer clock;
    clock.start();
    const CallResult result = resultOf(aio->call(QStringLiteral("forever"), {QStringLiteral("late")}, CallOptions{100ms}));
    qInfo("async call with a 100 ms deadline ended after %lld ms", clock.elapsed());
    QVERIFY(!result);
    QCOMPARE(result.error().kind(), PluginError::Kind::TimedOut);
    QVERIFY2(result.error().message().contains(QLatin1String("forever()")), qPrintable(result.error().errorText()));
    QTRY_COMPARE(historyOf(aio).value(QStringLiteral("cancelled")).toStringList(), QStringList{QStringLiteral("late")});
    QCOMPARE(valueOf(aio, QStringLiteral("add"), {1, 2}).toLongLong(), 3);
}

void AsyncioTest::testDeadlineInterruptsASpinningTask()
{
    // A task computing in pure Python never gives the loop back, so no poll of the loop sees
    // its deadline: the host's interrupt has to land inside it.
    Plugin *aio = plugin(aioId);
    const CallResult result = resultOf(aio->call(QStringLiteral("spins"), {30.0}, CallOptions{200ms}));
    QVERIFY(!result);
    QCOMPARE(result.error().kind(), PluginError::Kind::TimedOut);
    QVERIFY2(result.error().message().contains(QLatin1String("spins() did not return within 200 ms: interrupted at")), qPrintable(result.error().errorText()));
    QVERIFY2(result.error().message().contains(QLatin1String("aio.py")), qPrintable(result.error().errorText()));
    // It was interrupted, not given up on: the plugin answers at once, and no task is left.
    QCOMPARE(valueOf(aio, QStringLiteral("add"), {1, 2}).toLongLong(), 3);
    QTRY_COMPARE(valueOf(aio, QStringLiteral("pending_tasks")).toStringList(), QStringList());
}

void AsyncioTest::testDeadlineEndsATaskBlockedInC()
{
    Plugin *aio = plugin(aioId);
    const QFuture<QVariant> call = aio->call(QStringLiteral("blocks_in_c"), {1.5}, CallOptions{200ms});
    const CallResult result = resultOf(call);
    QVERIFY(!result); // not "woke up": the caller was answered while the task still slept
    QCOMPARE(result.error().kind(), PluginError::Kind::TimedOut);
    QVERIFY2(result.error().message().contains(QLatin1String("blocked in C")), qPrintable(result.error().errorText()));
    // Once the C call returns, the plugin goes on; what the task returned is dropped.
    QCOMPARE(valueOf(aio, QStringLiteral("add"), {2, 2}).toLongLong(), 4);
    QTRY_COMPARE(valueOf(aio, QStringLiteral("pending_tasks")).toStringList(), QStringList());
}

void AsyncioTest::testDeadlineOfATaskHeldUpByAnother()
{
    // A call's task awaits; then another task spins without a deadline, and the first call's
    // deadline passes while it waits for the loop. Its caller is answered anyway, saying what
    // held the thread, and the spinning task is not the one interrupted.
    Plugin *aio = plugin(aioId);
    const QFuture<QVariant> waiter = aio->call(QStringLiteral("waits_behind_spinner"), {0.5}, CallOptions{300ms});
    QTRY_VERIFY(historyOf(aio).value(QStringLiteral("steps")).toStringList().contains(QStringLiteral("waiting")));
    const QFuture<QVariant> spinner = aio->call(QStringLiteral("spins"), {1.5});
    const CallResult waited = resultOf(waiter);
    QVERIFY(!waited);
    QCOMPARE(waited.error().kind(), PluginError::Kind::TimedOut);
    QVERIFY2(waited.error().message().contains(QLatin1String("a task of the plugin's asyncio loop held the plugin's thread (last seen at")),
             qPrintable(waited.error().errorText()));
    QVERIFY(!spinner.isFinished());
    QCOMPARE(resultOf(spinner).value().toString(), QStringLiteral("spun to the end"));
}

void AsyncioTest::testSnapshotOfASpinningTask()
{
    Plugin *aio = plugin(aioId);
    const QFuture<QVariant> spinner = aio->call(QStringLiteral("spins"), {1.5});
    QTest::qWait(300); // let it spin a while, so that the snapshot has a time to tell
    QFuture<QString> snapshot = aio->stackSnapshot(1s);
    QVERIFY(settle(snapshot));
    const QString text = snapshot.result();
    QVERIFY2(text.startsWith(QLatin1String("a task of the plugin's asyncio loop (running for about")), qPrintable(text));
    QVERIFY2(!text.contains(QLatin1String("about 0 ms")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("in spins")), qPrintable(text));
    QCOMPARE(resultOf(spinner).value().toString(), QStringLiteral("spun to the end"));
}

void AsyncioTest::testErrorInCoroutineCarriesTraceback()
{
    const CallResult result = resultOf(plugin(aioId)->call(QStringLiteral("fails"), {QStringLiteral("no luck")}));
    QVERIFY(!result);
    const PluginError error = result.error();
    QCOMPARE(error.kind(), PluginError::Kind::PythonException);
    QCOMPARE(error.pythonType(), QStringLiteral("ValueError"));
    QCOMPARE(error.message(), QStringLiteral("no luck"));
    QVERIFY2(error.traceback().contains(QLatin1String("in fails")), qPrintable(error.traceback()));
    QVERIFY2(error.fileName().endsWith(QLatin1String("aio.py")), qPrintable(error.fileName()));
    QVERIFY(error.line() > 0);
}

void AsyncioTest::testUnconvertibleResult()
{
    const CallResult result = resultOf(plugin(aioId)->call(QStringLiteral("returns_object")));
    QVERIFY(!result);
    QCOMPARE(result.error().kind(), PluginError::Kind::InvalidValue);
    QVERIFY2(result.error().message().contains(QLatin1String("the result of returns_object()[\"answer\"]")), qPrintable(result.error().errorText()));
}

void AsyncioTest::testPluginWithoutCoroutinesDoesNotImportAsyncio()
{
    Plugin *plain = plugin(plainId);
    QCOMPARE(valueOf(plain, QStringLiteral("ping"), {1}).toList(), (QVariantList{QStringLiteral("pong"), 1}));
    QCOMPARE(valueOf(plain, QStringLiteral("nap"), {0.01}).toDouble() >= 0.01, true);
    QCOMPARE(valueOf(plain, QStringLiteral("imported_asyncio")).toBool(), false);
    // While the plugin next door uses it.
    QCOMPARE(valueOf(plugin(aioId), QStringLiteral("add"), {1, 2}).toLongLong(), 3);
    QCOMPARE(valueOf(plain, QStringLiteral("imported_asyncio")).toBool(), false);
}

void AsyncioTest::testSleepRunsReentrantCalls()
{
    // time.sleep() would hold the re-entrant call until it returned; pluginhost.sleep() runs it.
    Plugin *plain = plugin(plainId);
    const QFuture<QVariant> napping = plain->call(QStringLiteral("nap"), {2.0});
    QElapsedTimer clock;
    QVERIFY(QTest::qWaitFor(
        [&] {
            clock.start();
            return valueOf(plain, QStringLiteral("is_napping")).toBool();
        },
        10000));
    qInfo("re-entrant call into a plugin inside pluginhost.sleep(): %.2f ms", double(clock.nsecsElapsed()) / 1e6);
    QVERIFY(!napping.isFinished());
    QVERIFY(resultOf(napping).value().toDouble() >= 2.0); // and the nap went on to its end
    QCOMPARE(valueOf(plain, QStringLiteral("is_napping")).toBool(), false);
}

void AsyncioTest::testSleepEndsEarly_data()
{
    QTest::addColumn<bool>("byDeadline");
    QTest::newRow("QFuture::cancel()") << false;
    QTest::newRow("deadline") << true;
}

void AsyncioTest::testSleepEndsEarly()
{
    QFETCH(bool, byDeadline);
    Plugin *plain = plugin(plainId);
    QElapsedTimer clock;
    clock.start();
    QFuture<QVariant> napping = plain->call(QStringLiteral("nap"), {10.0}, CallOptions{byDeadline ? 200ms : 0ms});
    if (!byDeadline) {
        QTRY_VERIFY(valueOf(plain, QStringLiteral("is_napping")).toBool());
        napping.cancel();
    }
    QVERIFY(settle(napping));
    const CallResult result = CallResult::fromFuture(napping);
    if (byDeadline) {
        QVERIFY(!result);
        QCOMPARE(result.error().kind(), PluginError::Kind::TimedOut);
    } else {
        QVERIFY(napping.isCanceled());
    }
    // The plugin saw pluginhost.Cancelled come out of sleep(10) long before the 10 s were up.
    QTRY_VERIFY(!valueOf(plain, QStringLiteral("history")).toList().isEmpty());
    const QVariantList nap = valueOf(plain, QStringLiteral("history")).toList().constLast().toList();
    qInfo("pluginhost.sleep(10) ended by %s after %.1f ms of sleep (%lld ms after the call)",
          byDeadline ? "a 200 ms deadline" : "QFuture::cancel()",
          nap.value(1).toDouble() * 1000,
          clock.elapsed());
    QCOMPARE(nap.value(0).toString(), QStringLiteral("cancelled"));
    QVERIFY(nap.value(1).toDouble() < 5.0);
    QCOMPARE(valueOf(plain, QStringLiteral("ping"), {2}).toList(), (QVariantList{QStringLiteral("pong"), 2}));
}

void AsyncioTest::testInterpreterSleepEndsOnInterrupt()
{
    // The runtime's part of pluginhost.sleep(): an interrupt job that raises ends the sleep.
    Interpreter::Config config;
    config.name = QStringLiteral("sleeper");
    std::shared_ptr<Interpreter> interpreter = Interpreter::start(config);
    auto slept = std::make_shared<std::promise<std::pair<int, QString>>>();
    std::future<std::pair<int, QString>> outcome = slept->get_future();
    interpreter->post(Job::fromFunctions(
        Job::Kind::Ordinary,
        [slept](Interpreter &self) {
            const int result = self.sleep(10s);
            QString raised;
            if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
                raised = QStringLiteral("KeyboardInterrupt");
            }
            PyErr_Clear();
            slept->set_value({result, raised});
            return 0;
        },
        nullptr));
    // Let it start: once its job runs, an interrupt either wakes the sleep or, arriving before
    // it, ends it at once. Before the job, it would run on its own, outside any code.
    QTRY_VERIFY(interpreter->isBusy());
    QElapsedTimer clock;
    clock.start();
    interpreter->post(Job::fromFunctions(
        Job::Kind::Interrupt,
        [](Interpreter &) {
            PyErr_SetString(PyExc_KeyboardInterrupt, "interrupted");
            return -1;
        },
        nullptr));
    QCOMPARE(outcome.wait_for(5s), std::future_status::ready);
    const auto [result, raised] = outcome.get();
    qInfo("interrupt job to the end of Interpreter::sleep(): %.2f ms", double(clock.nsecsElapsed()) / 1e6);
    QCOMPARE(result, -1);
    QCOMPARE(raised, QStringLiteral("KeyboardInterrupt"));
    QVERIFY(clock.elapsed() < 5000);
    interpreter->stop();
    QVERIFY(interpreter->wait(10s));
}

void AsyncioTest::testUnloadCancelsPendingTasks_data()
{
    QTest::addColumn<bool>("stubborn");
    QTest::newRow("tasks that stop when cancelled") << false;
    QTest::newRow("a task that ignores the cancel") << true;
}

void AsyncioTest::testUnloadCancelsPendingTasks()
{
    QFETCH(bool, stubborn);
    Plugin *lingering = plugin(lingeringId);
    const QString notes = m_dataLocation.path() + QLatin1Char('/') + lingeringId + QStringLiteral("/notes.txt");
    QFile::remove(notes);
    const QFuture<CallResult> load = lingering->load();
    QVERIFY(settle(load));
    QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));

    QCOMPARE(valueOf(lingering, QStringLiteral("start"), {stubborn}).toInt(), stubborn ? 2 : 1);
    const QFuture<QVariant> waiting = lingering->call(QStringLiteral("waiting"));
    QTest::qWait(50);

    QElapsedTimer clock;
    clock.start();
    const QFuture<CallResult> unload = lingering->unload();
    QVERIFY(settle(unload));
    qInfo("unload with tasks pending (%s): %lld ms", stubborn ? "one ignores the cancel" : "all stop", clock.elapsed());
    QVERIFY2(unload.result(), qPrintable(unload.result().error().errorText()));
    QCOMPARE(unload.result().value().toMap().value(QStringLiteral("tasks")).toInt(), stubborn ? 2 : 1); // what async on_unload() returned
    QCOMPARE(lingering->state(), Plugin::State::Unloaded);

    const CallResult abandoned = resultOf(waiting);
    QVERIFY(!abandoned);
    QCOMPARE(abandoned.error().kind(), PluginError::Kind::Unloaded);

    QFile file(notes);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString written = QString::fromUtf8(file.readAll());
    // async on_load() and on_unload() ran to their end; the tasks were cancelled after on_unload().
    QVERIFY2(written.startsWith(QLatin1String("on_load awaited\non_unload awaited\n")), qPrintable(written));
    QVERIFY2(written.contains(QLatin1String("polite task cancelled")), qPrintable(written));
    QCOMPARE(written.contains(QLatin1String("stubborn task ignores the cancel")), stubborn);
    for (const QString &line : takeLog()) {
        QVERIFY2(!line.contains(QLatin1String("did not close cleanly")), qPrintable(line));
        QVERIFY2(!line.contains(QLatin1String("quarantined")), qPrintable(line)); // the loop and its tasks ended in time
    }
}

QTEST_GUILESS_MAIN(AsyncioTest)

#include "asynciotest.moc"
