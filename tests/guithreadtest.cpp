// "The GUI thread never blocks on a plugin" (DESIGN.md, threading point 6): a QGuiApplication
// (offscreen platform) keeps its event loop turning, a 10 ms timer firing, while one plugin
// loops forever in Python, one sleeps in C, one floods the host and another plugin with
// events, and a fourth still answers calls.
#include "futurehelpers.h"

#include <PluginHost/PluginManager>

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QGuiApplication>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/supervision");
}

class GuiThreadTest : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void testEventLoopKeepsTurning();
};

void GuiThreadTest::testEventLoopKeepsTurning()
{
    QVERIFY(qobject_cast<QGuiApplication *>(QCoreApplication::instance()));
    QTemporaryDir profile;
    QVERIFY(profile.isValid());
    PluginManager manager;
    manager.setProfileDirectory(profile.path());
    manager.setDataLocation(profile.filePath(QStringLiteral("data")));
    manager.setSearchPaths({fixtures});
    manager.discover();
    QVERIFY(settle(manager.loadAll()));
    Plugin *worker = manager.plugin(QStringLiteral("org.test.worker"));
    Plugin *sleeper = manager.plugin(QStringLiteral("org.test.sleeper"));
    Plugin *flooder = manager.plugin(QStringLiteral("org.test.flooder"));
    Plugin *listener = manager.plugin(QStringLiteral("org.test.listener"));
    for (Plugin *plugin : {worker, sleeper, flooder, listener}) {
        QVERIFY(plugin);
        QCOMPARE(plugin->state(), Plugin::State::Loaded);
    }
    // The GUI thread may not wait for a plugin, even briefly.
    QCOMPARE(listener->callBlocking(QStringLiteral("add"), {1, 1}, 1s).error().kind(), PluginError::Kind::InvalidValue);

    qint64 eventsSeen = 0;
    connect(&manager, &PluginManager::eventEmitted, this, [&eventsSeen] {
        ++eventsSeen;
    });

    QElapsedTimer clock;
    clock.start();
    qint64 lastTick = 0;
    qint64 maxGap = 0;
    int ticks = 0;
    QTimer timer;
    timer.setTimerType(Qt::PreciseTimer);
    timer.setInterval(10);
    connect(&timer, &QTimer::timeout, this, [&] {
        const qint64 now = clock.elapsed();
        maxGap = std::max(maxGap, now - lastTick);
        lastTick = now;
        ++ticks;
    });

    QFuture<QVariant> forever = worker->call(QStringLiteral("spin"), {QVariant()});
    const QFuture<QVariant> sleeping = sleeper->call(QStringLiteral("sleep_in_c"), {1.0, 2});
    const QFuture<QVariant> flooding = flooder->call(QStringLiteral("flood_for"), {2.0});
    int answers = 0;
    qint64 slowestAnswer = 0;
    QTimer caller;
    caller.setInterval(50);
    connect(&caller, &QTimer::timeout, this, [&] {
        const qint64 asked = clock.elapsed();
        auto *watcher = new QFutureWatcher<QVariant>(this);
        connect(watcher, &QFutureWatcherBase::finished, this, [&, watcher, asked] {
            watcher->deleteLater();
            if (watcher->future().resultCount() == 1 && watcher->future().result().toInt() == 5) {
                ++answers;
                slowestAnswer = std::max(slowestAnswer, clock.elapsed() - asked);
            }
        });
        watcher->setFuture(listener->call(QStringLiteral("add"), {2, 3}));
    });
    lastTick = clock.elapsed();
    timer.start();
    caller.start();
    QTest::qWait(3000);
    caller.stop();
    timer.stop();

    qInfo() << "over 3 s with a plugin looping in Python, one sleeping in C and one flooding: the 10 ms timer fired" << ticks
            << "times, largest gap" << maxGap << "ms;" << eventsSeen << "events reached the GUI thread; the other plugin answered" << answers
            << "calls, the slowest in" << slowestAnswer << "ms";
    QVERIFY2(maxGap < 250, qPrintable(QStringLiteral("the GUI thread stalled for %1 ms").arg(maxGap)));
    QVERIFY(ticks > 50);
    QVERIFY(answers > 0);
    QVERIFY(resultOf(flooding));
    QVERIFY(eventsSeen > 0);

    forever.cancel();
    QVERIFY(settle(forever, 5000));
    QVERIFY(resultOf(sleeping));
    QElapsedTimer unloading;
    unloading.start();
    QVERIFY(settle(manager.unloadAll(), 30000));
    qInfo() << "unloading everything took" << unloading.elapsed() << "ms";
}

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication application(argc, argv);
    GuiThreadTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "guithreadtest.moc"
