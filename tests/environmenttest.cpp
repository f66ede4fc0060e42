// What a plugin finds of its process, compared with the `python` program: a write to a closed
// pipe or socket raises BrokenPipeError (SIGPIPE is ignored), and sys.executable is the
// embedded CPython's interpreter. With a real fixture plugin (tests/data/environment).
#include "futurehelpers.h"

#include <PluginHost/PluginManager>

#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#ifdef Q_OS_UNIX
#include <signal.h>
#endif

using namespace PluginHost;
using namespace PluginHost::Tests;

namespace
{
const QString pluginId = QStringLiteral("org.test.environment");
} // namespace

class EnvironmentTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void testBrokenPipe_data();
    void testBrokenPipe();
    void testExecutable();

private:
    QVariant call(const QString &function, const QVariantList &arguments = {});
    Plugin *m_plugin = nullptr;
    PluginManager *m_manager = nullptr;
    QTemporaryDir m_dataLocation;
};

void EnvironmentTest::initTestCase()
{
    QVERIFY(m_dataLocation.isValid());
#ifdef Q_OS_UNIX
    // QtTest's crash handler takes SIGPIPE; an application normally leaves it at its default,
    // which is what the runtime changes when it starts (runtimeoptionstest: when it does not).
    QVERIFY(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
#endif
    m_manager = new PluginManager(this);
    m_manager->setDataLocation(m_dataLocation.path());
    m_manager->setProfileDirectory(m_dataLocation.path());
    m_manager->setSearchPaths({QStringLiteral(PLUGINHOST_TEST_DATA "/environment")});
    m_manager->discover();
    m_plugin = m_manager->plugin(pluginId);
    QVERIFY(m_plugin);
    const QFuture<CallResult> load = m_plugin->load();
    QVERIFY(settle(load));
    QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));
}

void EnvironmentTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
    delete m_manager;
}

QVariant EnvironmentTest::call(const QString &function, const QVariantList &arguments)
{
    const CallResult result = resultOf(m_plugin->call(function, arguments));
    if (!result) {
        qWarning().noquote() << function << "failed:" << result.error().errorText();
    }
    return result.value();
}

void EnvironmentTest::testBrokenPipe_data()
{
    QTest::addColumn<QString>("function");

    QTest::newRow("pipe") << QStringLiteral("write_to_closed_pipe");
    QTest::newRow("socket") << QStringLiteral("send_to_closed_socket");
}

void EnvironmentTest::testBrokenPipe()
{
    QFETCH(QString, function);

    // Without SIGPIPE ignored, the process would end here with exit code 141.
    QCOMPARE(call(function).toString(), QStringLiteral("BrokenPipeError"));
    QCOMPARE(call(function).toString(), QStringLiteral("BrokenPipeError"));
#ifdef Q_OS_UNIX
    QVERIFY(signal(SIGPIPE, SIG_IGN) == SIG_IGN);
#endif
}

void EnvironmentTest::testExecutable()
{
    const QVariantMap seen = call(QStringLiteral("executable")).toMap();
    const QString executable = seen.value(QStringLiteral("executable")).toString();
    QVERIFY2(!executable.isEmpty(), "sys.executable is empty");
    const QFileInfo program(executable);
    QVERIFY2(program.isFile() && program.isExecutable(), qPrintable(executable));

    // It is the CPython the plugin runs on: the same version, build included.
    QProcess python;
    python.start(executable, {QStringLiteral("-I"), QStringLiteral("-c"), QStringLiteral("import sys; print(sys.version)")});
    QVERIFY2(python.waitForFinished(30000), qPrintable(python.errorString()));
    QCOMPARE(python.exitCode(), 0);
    QCOMPARE(QString::fromUtf8(python.readAllStandardOutput()).trimmed(), seen.value(QStringLiteral("version")).toString());
}

QTEST_GUILESS_MAIN(EnvironmentTest)
#include "environmenttest.moc"
