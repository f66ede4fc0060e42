// What an application chooses before the runtime starts: Runtime::Options::pythonExecutable,
// and its own SIGPIPE handler, which the runtime must leave alone. Both are taken once per
// process, so this is a test program of its own (environmenttest checks the defaults).
#include "futurehelpers.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QTemporaryDir>
#include <QTest>

#include <atomic>

#ifdef Q_OS_UNIX
#include <signal.h>
#endif

using namespace PluginHost;
using namespace PluginHost::Tests;

namespace
{
std::atomic<int> s_brokenPipeSignals{0};

#ifdef Q_OS_UNIX
void countBrokenPipe(int)
{
    ++s_brokenPipeSignals;
}
#endif
} // namespace

class RuntimeOptionsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void testPythonExecutable();
    void testApplicationSigpipeHandlerKept();

private:
    QVariant call(const QString &function);
    QString m_executable;
    PluginManager *m_manager = nullptr;
    Plugin *m_plugin = nullptr;
    QTemporaryDir m_dataLocation;
};

void RuntimeOptionsTest::initTestCase()
{
    QVERIFY(m_dataLocation.isValid());
#ifdef Q_OS_UNIX
    struct sigaction handler = {};
    handler.sa_handler = countBrokenPipe;
    sigemptyset(&handler.sa_mask);
    QCOMPARE(sigaction(SIGPIPE, &handler, nullptr), 0);
#endif
    // The Python program an application ships beside itself, for plugins to start.
    m_executable = m_dataLocation.filePath(QStringLiteral("bin/application-python"));
    Runtime::Options options;
    options.pythonExecutable = m_executable;
    QVERIFY(Runtime::configure(options));

    m_manager = new PluginManager(this);
    m_manager->setDataLocation(m_dataLocation.path());
    m_manager->setProfileDirectory(m_dataLocation.path());
    m_manager->setSearchPaths({QStringLiteral(PLUGINHOST_TEST_DATA "/environment")});
    m_manager->discover();
    m_plugin = m_manager->plugin(QStringLiteral("org.test.environment"));
    QVERIFY(m_plugin);
    const QFuture<CallResult> load = m_plugin->load();
    QVERIFY(settle(load));
    QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));
}

void RuntimeOptionsTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
    delete m_manager;
}

QVariant RuntimeOptionsTest::call(const QString &function)
{
    const CallResult result = resultOf(m_plugin->call(function));
    if (!result) {
        qWarning().noquote() << function << "failed:" << result.error().errorText();
    }
    return result.value();
}

void RuntimeOptionsTest::testPythonExecutable()
{
    QCOMPARE(call(QStringLiteral("executable")).toMap().value(QStringLiteral("executable")).toString(), m_executable);
}

void RuntimeOptionsTest::testApplicationSigpipeHandlerKept()
{
#ifdef Q_OS_UNIX
    // The application's handler runs, and the plugin still gets its BrokenPipeError.
    QCOMPARE(call(QStringLiteral("write_to_closed_pipe")).toString(), QStringLiteral("BrokenPipeError"));
    QVERIFY(s_brokenPipeSignals > 0);
    struct sigaction current = {};
    QCOMPARE(sigaction(SIGPIPE, nullptr, &current), 0);
    QVERIFY(current.sa_handler == countBrokenPipe);
#else
    QSKIP("SIGPIPE exists on Unix only");
#endif
}

QTEST_GUILESS_MAIN(RuntimeOptionsTest)
#include "runtimeoptionstest.moc"
