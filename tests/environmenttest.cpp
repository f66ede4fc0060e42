// What a plugin finds of its process, compared with the `python` program: a write to a closed
// pipe or socket raises BrokenPipeError (SIGPIPE is ignored), sys.executable is the embedded
// CPython's interpreter, and sys.stdout/sys.stderr are text files whose lines go to the
// plugin's log. With a real fixture plugin (tests/data/environment).
#include "futurehelpers.h"
#include "loghelpers.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QFile>
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
const QString fixtureFile = QStringLiteral("environment.py");

// A record of the plugin's log: its level, text and the Python line that wrote it.
struct Line {
    QtMsgType type;
    QString message;
    QString file;
    int line;
};

QList<Line> takePluginLog()
{
    QList<Line> lines;
    for (const LogEntry &entry : LogCapture::take()) {
        if (entry.category == QLatin1String("pluginhost.plugin.") + pluginId) {
            lines.append({entry.type, entry.message, QFileInfo(entry.file).fileName(), entry.line});
        }
    }
    return lines;
}

QStringList messagesOf(const QList<Line> &lines)
{
    QStringList messages;
    for (const Line &line : lines) {
        messages.append(line.message);
    }
    return messages;
}

// The line of the fixture plugin that holds `code`.
int fixtureLine(const QString &code)
{
    QFile file(QStringLiteral(PLUGINHOST_TEST_DATA "/environment/probe/") + fixtureFile);
    if (!file.open(QIODevice::ReadOnly)) {
        return -1;
    }
    const QStringList lines = QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'));
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (lines.at(i).contains(code)) {
            return int(i) + 1;
        }
    }
    return -1;
}

QtMsgType levelOf(const QString &stream)
{
    return stream == QLatin1String("stdout") ? QtInfoMsg : QtWarningMsg;
}
} // namespace

class EnvironmentTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void testBrokenPipe_data();
    void testBrokenPipe();
    void testExecutable();
    void testStreamIsTextFile_data();
    void testStreamIsTextFile();
    void testWriteLines_data();
    void testWriteLines();
    void testPrintToFile();
    void testBinaryBuffer();
    void testLoggingHandler();
    void testLoneSurrogates();
    void testReconfigure();
    void testPartialLineAtUnload();

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
    LogCapture::install("pluginhost.plugin.");
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
    LogCapture::uninstall();
}

void EnvironmentTest::init()
{
    takePluginLog();
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

void EnvironmentTest::testStreamIsTextFile_data()
{
    QTest::addColumn<QString>("stream");
    QTest::addColumn<QString>("errors");

    // As in the `python` program: stderr escapes what it cannot encode, so reporting never fails.
    QTest::newRow("stdout") << QStringLiteral("stdout") << QStringLiteral("strict");
    QTest::newRow("stderr") << QStringLiteral("stderr") << QStringLiteral("backslashreplace");
}

void EnvironmentTest::testStreamIsTextFile()
{
    QFETCH(QString, stream);
    QFETCH(QString, errors);

    const QVariantMap properties = call(QStringLiteral("stream_properties"), {stream}).toMap();
    QCOMPARE(properties.value(QStringLiteral("text_file")).toBool(), true);
    QCOMPARE(properties.value(QStringLiteral("encoding")).toString(), QStringLiteral("utf-8"));
    QCOMPARE(properties.value(QStringLiteral("errors")).toString(), errors);
    QVERIFY(!properties.value(QStringLiteral("newlines")).isValid()); // None
    QCOMPARE(properties.value(QStringLiteral("line_buffering")).toBool(), true);
    QCOMPARE(properties.value(QStringLiteral("closed")).toBool(), false);
    QCOMPARE(properties.value(QStringLiteral("name")).toString(), QStringLiteral("<%1>").arg(stream));
    QCOMPARE(properties.value(QStringLiteral("mode")).toString(), QStringLiteral("w"));
    QCOMPARE(properties.value(QStringLiteral("isatty")).toBool(), false);
    QCOMPARE(properties.value(QStringLiteral("writable")).toBool(), true);
    QCOMPARE(properties.value(QStringLiteral("readable")).toBool(), false);
    QCOMPARE(properties.value(QStringLiteral("seekable")).toBool(), false);
    QCOMPARE(properties.value(QStringLiteral("fileno")).toString(), QStringLiteral("UnsupportedOperation"));
    QCOMPARE(properties.value(QStringLiteral("buffer_is_binary")).toBool(), true);
    // sys.__stdout__ is the same log: restoring "the original" stream keeps writing there.
    QCOMPARE(properties.value(QStringLiteral("original")).toBool(), true);
}

void EnvironmentTest::testWriteLines_data()
{
    QTest::addColumn<QString>("stream");

    QTest::newRow("stdout") << QStringLiteral("stdout");
    QTest::newRow("stderr") << QStringLiteral("stderr");
}

void EnvironmentTest::testWriteLines()
{
    QFETCH(QString, stream);

    call(QStringLiteral("write_lines"), {stream, QStringList{QStringLiteral("one\n"), QStringLiteral("tw"), QStringLiteral("o\nthree\n")}});
    const QList<Line> lines = takePluginLog();
    QCOMPARE(messagesOf(lines), (QStringList{QStringLiteral("one"), QStringLiteral("two"), QStringLiteral("three")}));
    for (const Line &line : lines) {
        QCOMPARE(line.type, levelOf(stream));
        // Where the plugin wrote it.
        QCOMPARE(line.file, fixtureFile);
        QCOMPARE(line.line, fixtureLine(QStringLiteral(".writelines(lines)")));
    }
}

void EnvironmentTest::testPrintToFile()
{
    call(QStringLiteral("print_to"), {QStringLiteral("stderr"), QStringList{QStringLiteral("a"), QStringLiteral("b\nc")}, QStringLiteral("\n")});
    const QList<Line> lines = takePluginLog();
    QCOMPARE(messagesOf(lines), (QStringList{QStringLiteral("a b"), QStringLiteral("c")}));
    QCOMPARE(lines.at(0).type, QtWarningMsg);
    QCOMPARE(lines.at(0).file, fixtureFile);
    QCOMPARE(lines.at(0).line, fixtureLine(QStringLiteral("print(*words")));

    // A flush does not cut a line in two: the log takes whole lines.
    call(QStringLiteral("print_to"), {QStringLiteral("stdout"), QStringList{QStringLiteral("working...")}, QString()});
    call(QStringLiteral("flush"), {QStringLiteral("stdout")});
    QCOMPARE(messagesOf(takePluginLog()), QStringList());
    call(QStringLiteral("print_to"), {QStringLiteral("stdout"), QStringList{QStringLiteral(" done")}, QStringLiteral("\n")});
    QCOMPARE(messagesOf(takePluginLog()), QStringList{QStringLiteral("working... done")});
}

void EnvironmentTest::testBinaryBuffer()
{
    // The bytes are decoded as UTF-8; what is not UTF-8 shows as an escape instead of failing.
    const QByteArray bytes("caf\xc3\xa9 \xff\xfe!\nrest", 14);
    QCOMPARE(call(QStringLiteral("write_bytes"), {QStringLiteral("stdout"), bytes}).toLongLong(), bytes.size());
    const QList<Line> lines = takePluginLog();
    QCOMPARE(messagesOf(lines), QStringList{QStringLiteral("café \\xff\\xfe!")});
    QCOMPARE(lines.at(0).type, QtInfoMsg);
    QCOMPARE(lines.at(0).line, fixtureLine(QStringLiteral(".buffer.write(data)")));
    // The text file and its buffer share one line.
    call(QStringLiteral("print_to"), {QStringLiteral("stdout"), QStringList{QStringLiteral("ful")}, QStringLiteral("\n")});
    QCOMPARE(messagesOf(takePluginLog()), QStringList{QStringLiteral("restful")});
}

void EnvironmentTest::testLoggingHandler()
{
    call(QStringLiteral("log_through_handler"), {QStringLiteral("disk full")});
    const QList<Line> lines = takePluginLog();
    QCOMPARE(messagesOf(lines), QStringList{QStringLiteral("ERROR disk full")});
    QCOMPARE(lines.at(0).type, QtWarningMsg);
}

void EnvironmentTest::testLoneSurrogates()
{
    // stdout refuses them, as the `python` program does in a UTF-8 locale; stderr escapes them.
    const CallResult printed = resultOf(m_plugin->call(QStringLiteral("print_surrogate"), {QStringLiteral("stdout")}));
    QVERIFY(!printed);
    QCOMPARE(printed.error().pythonType(), QStringLiteral("UnicodeEncodeError"));
    const CallResult escaped = resultOf(m_plugin->call(QStringLiteral("print_surrogate"), {QStringLiteral("stderr")}));
    QVERIFY2(escaped, qPrintable(escaped.error().errorText()));
    QCOMPARE(messagesOf(takePluginLog()), QStringList{QStringLiteral("lone \\udc80")});
}

void EnvironmentTest::testReconfigure()
{
    const QVariantMap held = call(QStringLiteral("reconfigure"),
                                  {QStringLiteral("stdout"),
                                   QVariantMap{{QStringLiteral("errors"), QStringLiteral("backslashreplace")},
                                               {QStringLiteral("line_buffering"), false},
                                               {QStringLiteral("write_through"), false}}})
                                 .toMap();
    QCOMPARE(held.value(QStringLiteral("errors")).toString(), QStringLiteral("backslashreplace"));
    QCOMPARE(held.value(QStringLiteral("line_buffering")).toBool(), false);
    QCOMPARE(held.value(QStringLiteral("write_through")).toBool(), false);

    // Now the text file keeps what is printed until it is flushed, and escapes surrogates.
    call(QStringLiteral("print_surrogate"), {QStringLiteral("stdout")});
    QCOMPARE(messagesOf(takePluginLog()), QStringList());
    call(QStringLiteral("flush"), {QStringLiteral("stdout")});
    QCOMPARE(messagesOf(takePluginLog()), QStringList{QStringLiteral("lone \\udc80")});

    const QVariantMap restored = call(QStringLiteral("reconfigure"),
                                      {QStringLiteral("stdout"),
                                       QVariantMap{{QStringLiteral("errors"), QStringLiteral("strict")},
                                                   {QStringLiteral("line_buffering"), true},
                                                   {QStringLiteral("write_through"), true}}})
                                     .toMap();
    QCOMPARE(restored.value(QStringLiteral("errors")).toString(), QStringLiteral("strict"));
    QCOMPARE(restored.value(QStringLiteral("write_through")).toBool(), true);
}

void EnvironmentTest::testPartialLineAtUnload()
{
    call(QStringLiteral("print_to"), {QStringLiteral("stderr"), QStringList{QStringLiteral("last words")}, QString()});
    QCOMPARE(messagesOf(takePluginLog()), QStringList());
    QVERIFY(settle(m_plugin->unload()));
    const QList<Line> lines = takePluginLog();
    QCOMPARE(messagesOf(lines), QStringList{QStringLiteral("last words")});
    QCOMPARE(lines.at(0).type, QtWarningMsg);

    // Loaded again for whatever runs after.
    const QFuture<CallResult> load = m_plugin->load();
    QVERIFY(settle(load));
    QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));
}

QTEST_GUILESS_MAIN(EnvironmentTest)
#include "environmenttest.moc"
