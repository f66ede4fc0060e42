// Runs the real `pluginhost` binary with --headless, as a script or a CI job would, and checks
// what it prints and how it exits. Fixture plugins live in tests/data/headless/.
#include "runtime/pythonshim.h" // PY_MAJOR_VERSION: the host must run the CPython it was built with

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

namespace
{
constexpr int processTimeoutMs = 60 * 1000;

const QString greeterId = QStringLiteral("org.pluginhost.greeter");
const QString textStatsId = QStringLiteral("org.pluginhost.textstats");
const QString goodId = QStringLiteral("org.pluginhost.test.good");
const QString raisingId = QStringLiteral("org.pluginhost.test.raisesonimport");

QString fixtures()
{
    return QStringLiteral(PLUGINHOST_TEST_DATA "/headless/basic");
}

// The other fixtures, a search path per suite: tests/data/headless/<suite>/<plugin>.
QString fixtures(const char *suite)
{
    return QStringLiteral(PLUGINHOST_TEST_DATA "/headless/") + QLatin1String(suite);
}

const QString noisyId = QStringLiteral("org.pluginhost.test.noisy");
const QString hugeCallErrorId = QStringLiteral("org.pluginhost.test.hugecallerror");
const QString hugeLoadErrorId = QStringLiteral("org.pluginhost.test.hugeloaderror");
const QString valuesId = QStringLiteral("org.pluginhost.test.values");

// Far above what the bounded message and traceback of one error take, far below a 50 MB text.
constexpr qsizetype boundedErrorBytes = 512 * 1024;

// A plugin that loops in Python or sleeps in C on request (shared with quarantinetest).
const QString stuckId = QStringLiteral("org.pluginhost.test.stuck");
QString stuckFixtures()
{
    return QStringLiteral(PLUGINHOST_TEST_DATA "/quarantine");
}

QString bundledPlugins()
{
    return QStringLiteral(PLUGINHOST_BUNDLED_PLUGINS);
}

// One run of the host: what it printed and how it ended.
struct HostRun {
    QStringList arguments;
    bool finished = false;
    QString failure; // why the process did not run to its end
    QProcess::ExitStatus exitStatus = QProcess::CrashExit;
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    qint64 elapsedMs = 0; // from start to exit

    // Everything a failing assertion should show.
    QByteArray describe() const
    {
        QByteArray text = "pluginhost " + arguments.join(QLatin1Char(' ')).toUtf8();
        if (!failure.isEmpty()) {
            text += "\n" + failure.toUtf8();
        }
        text += "\nexit status " + QByteArray(exitStatus == QProcess::NormalExit ? "normal" : "crash") + ", exit code " + QByteArray::number(exitCode);
        text += "\n--- stdout ---\n" + shortened(out) + "\n--- stderr ---\n" + shortened(err);
        return text;
    }

    // Enough to see what went wrong, even when a stream holds megabytes.
    static QByteArray shortened(const QByteArray &stream)
    {
        constexpr qsizetype shown = 16 * 1024;
        if (stream.size() <= 2 * shown) {
            return stream;
        }
        return stream.left(shown) + "\n[… " + QByteArray::number(stream.size() - 2 * shown) + " bytes not shown …]\n" + stream.right(shown);
    }
};

HostRun runHost(const QStringList &arguments, const QHash<QString, QString> &extraEnvironment = {})
{
    HostRun run;
    run.arguments = arguments;
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("QT_FORCE_STDERR_LOGGING"), QStringLiteral("1"));
    for (auto it = extraEnvironment.cbegin(); it != extraEnvironment.cend(); ++it) {
        environment.insert(it.key(), it.value());
    }
    // The default profile lives under the data folder: never the user's, and fresh for this run.
    static QTemporaryDir dataHome;
    environment.insert(QStringLiteral("XDG_DATA_HOME"), dataHome.path());
    process.setProcessEnvironment(environment);
    QElapsedTimer timer;
    timer.start();
    process.start(QStringLiteral(PLUGINHOST_HOST_BINARY), arguments);
    if (!process.waitForStarted(processTimeoutMs)) {
        run.failure = QStringLiteral("the host did not start: %1").arg(process.errorString());
        return run;
    }
    // QProcess drains both pipes while it waits, so a chatty host never stalls on a full pipe.
    if (!process.waitForFinished(processTimeoutMs)) {
        run.failure = QStringLiteral("the host did not finish within %1 s: %2").arg(processTimeoutMs / 1000).arg(process.errorString());
        process.kill();
        process.waitForFinished(processTimeoutMs);
    } else {
        run.finished = true;
    }
    run.elapsedMs = timer.elapsed();
    run.exitStatus = process.exitStatus();
    run.exitCode = process.exitCode();
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}

// The JSON array --list prints, keyed by plugin id, or by directory name for invalid plugins.
QHash<QString, QJsonObject> listedPlugins(const QJsonArray &array)
{
    QHash<QString, QJsonObject> plugins;
    for (const QJsonValue &entry : array) {
        const QJsonObject object = entry.toObject();
        const QString id = object.value(QLatin1String("id")).toString();
        plugins.insert(id.isEmpty() ? QDir(object.value(QLatin1String("directory")).toString()).dirName() : id, object);
    }
    return plugins;
}

// The one line of JSON --call printed, parsed.
QJsonValue callResult(const HostRun &run)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson("[" + run.out + "]", &parseError);
    if (parseError.error != QJsonParseError::NoError || !run.out.endsWith('\n') || run.out.count('\n') != 1) {
        return QJsonValue::Undefined;
    }
    return document.array().at(0);
}
} // namespace

// A run that ended on its own, without crashing, with this exit code.
#define VERIFY_EXIT(run, code)                                                                                                                                 \
    do {                                                                                                                                                       \
        QVERIFY2((run).finished, (run).describe().constData());                                                                                                \
        QVERIFY2((run).exitStatus == QProcess::NormalExit, (run).describe().constData());                                                                     \
        QVERIFY2((run).exitCode == (code), (run).describe().constData());                                                                                      \
    } while (false)

#define VERIFY_CONTAINS(run, text, part)                                                                                                                       \
    QVERIFY2(QString::fromUtf8(text).contains(part), QByteArray("expected to find: " + QString(part).toUtf8() + "\n" + (run).describe()).constData())

class HeadlessTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void testVersion();
    void testListBundled();
    void testListFixtures();
    void testListCombinesPluginDirs();
    void testCall_data();
    void testCall();
    void testCallRaises_data();
    void testCallRaises();
    void testCallPluginThatFailedToLoad();
    void testCallPluginThatFailedToLoadWithoutItsLog();
    void testPluginWritesToStdout();
    void testHugeError_data();
    void testHugeError();
    void testHugeErrorInList();
    void testIdWithNul();
    void testValuesJsonCannotHold();
    void testArgsTaggedValues_data();
    void testArgsTaggedValues();
    void testArgsBadTaggedValues_data();
    void testArgsBadTaggedValues();
    void testUnknownPlugin();
    void testUnknownFunction_data();
    void testUnknownFunction();
    void testArgsNotAJsonArray_data();
    void testArgsNotAJsonArray();
    void testUsageErrors_data();
    void testUsageErrors();
    void testEnableAndDisableArePersisted();
    void testTimeoutInPython();
    void testTimeoutBlockedInC();
    void testTimeoutNotReached();
};

void HeadlessTest::testVersion()
{
    const HostRun run = runHost({QStringLiteral("--version")});
    VERIFY_EXIT(run, 0);
    VERIFY_CONTAINS(run, run.out, QStringLiteral("CPython 3."));
    VERIFY_CONTAINS(run, run.out, QStringLiteral("CPython %1.%2.").arg(PY_MAJOR_VERSION).arg(PY_MINOR_VERSION));
}

void HeadlessTest::testListBundled()
{
    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--list")});
    VERIFY_EXIT(run, 0);

    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(run.out, &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError, QByteArray(parseError.errorString().toUtf8() + "\n" + run.describe()).constData());
    QVERIFY2(document.isArray(), run.describe().constData());
    const QJsonArray array = document.array();
    QVERIFY2(array.size() >= 2, run.describe().constData());

    const QStringList keys{QStringLiteral("id"),
                           QStringLiteral("name"),
                           QStringLiteral("version"),
                           QStringLiteral("state"),
                           QStringLiteral("interpreter"),
                           QStringLiteral("gil"),
                           QStringLiteral("error"),
                           QStringLiteral("enabled"),
                           QStringLiteral("last_error")};
    for (const QJsonValue &entry : array) {
        QVERIFY2(entry.isObject(), run.describe().constData());
        for (const QString &key : keys) {
            QVERIFY2(entry.toObject().contains(key), qPrintable(QStringLiteral("an entry has no \"%1\":\n%2").arg(key, QString::fromUtf8(run.out))));
        }
    }

    const QHash<QString, QJsonObject> plugins = listedPlugins(array);
    QSet<qint64> interpreters;
    for (const QString &id : {greeterId, textStatsId}) {
        QVERIFY2(plugins.contains(id), qPrintable(id + QLatin1String(" is not listed")));
        const QJsonObject plugin = plugins.value(id);
        QCOMPARE(plugin.value(QLatin1String("state")).toString(), QStringLiteral("loaded"));
        QCOMPARE(plugin.value(QLatin1String("gil")).toString(), QStringLiteral("own"));
        QVERIFY(plugin.value(QLatin1String("error")).isNull());
        QCOMPARE(plugin.value(QLatin1String("version")).toString(), QStringLiteral("1.0.0"));
        const QJsonValue interpreter = plugin.value(QLatin1String("interpreter"));
        QVERIFY2(interpreter.isDouble(), qPrintable(id + QLatin1String(" has no interpreter id")));
        QCOMPARE(interpreter.toDouble(), double(interpreter.toInteger()));
        QVERIFY(interpreter.toInteger() > 0); // 0 is the main interpreter, which never runs plugins
        interpreters.insert(interpreter.toInteger());
    }
    QCOMPARE(plugins.value(greeterId).value(QLatin1String("name")).toString(), QStringLiteral("Greeter"));
    QCOMPARE(plugins.value(textStatsId).value(QLatin1String("name")).toString(), QStringLiteral("Text statistics"));
    QCOMPARE(interpreters.size(), 2);
}

void HeadlessTest::testListFixtures()
{
    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures(), QStringLiteral("--list")});
    VERIFY_EXIT(run, 0); // broken plugins are listed, not fatal

    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(run.out, &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError && document.isArray(), run.describe().constData());
    const QHash<QString, QJsonObject> plugins = listedPlugins(document.array());
    QCOMPARE(plugins.size(), 3);
    QVERIFY2(!plugins.contains(greeterId), "--plugin-dir replaces the bundled plugins");

    const QJsonObject good = plugins.value(goodId);
    QCOMPARE(good.value(QLatin1String("state")).toString(), QStringLiteral("loaded"));
    QCOMPARE(good.value(QLatin1String("name")).toString(), QStringLiteral("Good fixture"));
    QCOMPARE(good.value(QLatin1String("version")).toString(), QStringLiteral("2.5.0"));
    QVERIFY(good.value(QLatin1String("interpreter")).isDouble());
    QVERIFY(good.value(QLatin1String("error")).isNull());

    QVERIFY2(plugins.contains(QStringLiteral("malformed")), run.describe().constData());
    const QJsonObject malformed = plugins.value(QStringLiteral("malformed"));
    QCOMPARE(malformed.value(QLatin1String("state")).toString(), QStringLiteral("invalid"));
    QVERIFY(malformed.value(QLatin1String("interpreter")).isNull());
    const QString malformedError = malformed.value(QLatin1String("error")).toString();
    // The missing comma: the parser stops at the quote that opens line 3.
    QVERIFY2(malformedError.contains(QLatin1String("malformed/metadata.json:3:5")), qPrintable(malformedError));

    const QJsonObject raising = plugins.value(raisingId);
    QCOMPARE(raising.value(QLatin1String("state")).toString(), QStringLiteral("failed"));
    QVERIFY(raising.value(QLatin1String("interpreter")).isNull());
    QVERIFY(raising.value(QLatin1String("gil")).isNull()); // only a running interpreter has a GIL
    const QString raisingError = raising.value(QLatin1String("error")).toString();
    QVERIFY2(raisingError.contains(QLatin1String("RuntimeError")), qPrintable(raisingError));
    QVERIFY2(raisingError.contains(QLatin1String("raising.py refuses to be imported")), qPrintable(raisingError));
    QVERIFY2(raisingError.contains(QLatin1String("raising.py:9")), qPrintable(raisingError));
    QVERIFY2(raisingError.contains(QLatin1String("raising.py\", line 9")), qPrintable(raisingError));
}

void HeadlessTest::testListCombinesPluginDirs()
{
    const HostRun run = runHost(
        {QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures(), QStringLiteral("--plugin-dir"), bundledPlugins(), QStringLiteral("--list")});
    VERIFY_EXIT(run, 0);

    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(run.out, &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError && document.isArray(), run.describe().constData());
    const QHash<QString, QJsonObject> plugins = listedPlugins(document.array());
    QSet<qint64> interpreters;
    for (const QString &id : {goodId, greeterId, textStatsId}) {
        QVERIFY2(plugins.contains(id), qPrintable(id + QLatin1String(" is not listed")));
        QCOMPARE(plugins.value(id).value(QLatin1String("state")).toString(), QStringLiteral("loaded"));
        interpreters.insert(plugins.value(id).value(QLatin1String("interpreter")).toInteger());
    }
    QCOMPARE(interpreters.size(), 3);
    QVERIFY(plugins.contains(raisingId));
    QVERIFY(plugins.contains(QStringLiteral("malformed")));
}

void HeadlessTest::testCall_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QByteArray>("expected"); // stdout: the result as one line of JSON

    const QString headless = QStringLiteral("--headless");
    const QString call = QStringLiteral("--call");
    const QString args = QStringLiteral("--args");
    const QString pluginDir = QStringLiteral("--plugin-dir");

    QTest::newRow("greet world") << QStringList{headless, call, greeterId, QStringLiteral("greet"), args, QStringLiteral("[\"world\"]")}
                                 << QByteArray("\"Hello, world!\"\n");
    QTest::newRow("greet in German") << QStringList{headless, call, greeterId, QStringLiteral("greet"), args, QStringLiteral("[\"Welt\", \"de\"]")}
                                     << QByteArray("\"Hallo, Welt!\"\n");
    QTest::newRow("greet non-ascii") << QStringList{headless, call, greeterId, QStringLiteral("greet"), args, QStringLiteral("[\"Zoë 😀\", \"es\"]")}
                                     << QStringLiteral("\"¡Hola, Zoë 😀!\"\n").toUtf8();
    QTest::newRow("list result") << QStringList{headless, call, greeterId, QStringLiteral("languages")} << QByteArray("[\"de\",\"en\",\"es\",\"fr\"]\n");
    QTest::newRow("dict result") << QStringList{headless, call, textStatsId, QStringLiteral("summary"), args, QStringLiteral("[\"a b a\\nc\", 1]")}
                                 << QByteArray("{\"characters\":7,\"lines\":2,\"top\":[[\"a\",2]],\"words\":4}\n");
    QTest::newRow("function after the options") << QStringList{headless, call, greeterId, args, QStringLiteral("[\"you\"]"), QStringLiteral("greet")}
                                                << QByteArray("\"Hello, you!\"\n");
    QTest::newRow("echo values") << QStringList{headless, pluginDir, fixtures(), call, goodId, QStringLiteral("echo"), args,
                                                QStringLiteral("[1, -2.5, null, true, \"x\", [], {\"k\": [false]}]")}
                                 << QByteArray("[1,-2.5,null,true,\"x\",[],{\"k\":[false]}]\n");
    QTest::newRow("echo without --args") << QStringList{headless, pluginDir, fixtures(), call, goodId, QStringLiteral("echo")} << QByteArray("[]\n");
    QTest::newRow("echo empty array") << QStringList{headless, pluginDir, fixtures(), call, goodId, QStringLiteral("echo"), args, QStringLiteral("[]")}
                                      << QByteArray("[]\n");
}

void HeadlessTest::testCall()
{
    QFETCH(QStringList, arguments);
    QFETCH(QByteArray, expected);

    const HostRun run = runHost(arguments);
    VERIFY_EXIT(run, 0);
    QCOMPARE(run.out, expected);
}

void HeadlessTest::testCallRaises_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QStringList>("expected"); // on stderr

    const QString headless = QStringLiteral("--headless");
    const QString call = QStringLiteral("--call");
    const QString args = QStringLiteral("--args");

    QTest::newRow("fixture") << QStringList{headless, QStringLiteral("--plugin-dir"), fixtures(), call, goodId, QStringLiteral("fail"), args,
                                            QStringLiteral("[\"no luck today\"]")}
                             << QStringList{goodId,
                                            QStringLiteral("ValueError: no luck today"),
                                            QStringLiteral("Traceback"),
                                            QStringLiteral("good.py\", line 11, in fail"),
                                            QStringLiteral("good.py\", line 15, in _raise"),
                                            QStringLiteral("good.py:15")};
    QTest::newRow("bundled greeter") << QStringList{headless, call, greeterId, QStringLiteral("greet"), args, QStringLiteral("[\"x\", \"xx\"]")}
                                     << QStringList{QStringLiteral("ValueError"),
                                                    QStringLiteral("no greeting for language 'xx'"),
                                                    QStringLiteral("Traceback"),
                                                    QStringLiteral("greeter/__init__.py\", line 29, in greet")};
    QTest::newRow("wrong argument count") << QStringList{headless, call, greeterId, QStringLiteral("greet")}
                                          << QStringList{QStringLiteral("TypeError"), QStringLiteral("greet()"), QStringLiteral("name")};
}

void HeadlessTest::testCallRaises()
{
    QFETCH(QStringList, arguments);
    QFETCH(QStringList, expected);

    const HostRun run = runHost(arguments);
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    for (const QString &part : std::as_const(expected)) {
        VERIFY_CONTAINS(run, run.err, part);
    }
}

void HeadlessTest::testCallPluginThatFailedToLoad()
{
    const HostRun run =
        runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures(), QStringLiteral("--call"), raisingId, QStringLiteral("never_callable")});
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, QStringLiteral("RuntimeError"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("raising.py refuses to be imported"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("raising.py:9"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("never_callable() of org.pluginhost.test.raisesonimport was not called: the plugin failed to load"));
    // The load error once: in the log, not again by the host.
    QVERIFY2(run.err.count("Traceback (most recent call last)") == 1, run.describe().constData());
    QVERIFY2(run.err.count("raising.py:9") == 1, run.describe().constData());
}

// With the SDK's log of the failed load turned off, the host prints the error itself, once.
void HeadlessTest::testCallPluginThatFailedToLoadWithoutItsLog()
{
    const HostRun run =
        runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures(), QStringLiteral("--call"), raisingId, QStringLiteral("never_callable")},
                {{QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("pluginhost.plugins.warning=false")}});
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, QStringLiteral("was not called: the plugin failed to load: org.pluginhost.test.raisesonimport: RuntimeError"));
    QVERIFY2(run.err.count("Traceback (most recent call last)") == 1, run.describe().constData());
    QVERIFY2(run.err.count("raising.py:9") == 1, run.describe().constData());
}

// A plugin writing to the process's stdout (file descriptor 1, sys.__stdout__) at import, in
// on_load() and in a call: the JSON stays intact, and the junk lands on stderr with the log.
void HeadlessTest::testPluginWritesToStdout()
{
    const HostRun list = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("stdout"), QStringLiteral("--list")});
    VERIFY_EXIT(list, 0);
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(list.out, &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError && document.isArray(), list.describe().constData());
    const QHash<QString, QJsonObject> plugins = listedPlugins(document.array());
    QCOMPARE(plugins.value(noisyId).value(QLatin1String("state")).toString(), QStringLiteral("loaded"));
    for (const char *where : {"import", "on_load"}) {
        VERIFY_CONTAINS(list, list.err, QStringLiteral("junk from os.write(1) in %1").arg(QLatin1String(where)));
        VERIFY_CONTAINS(list, list.err, QStringLiteral("junk from sys.__stdout__ in %1").arg(QLatin1String(where)));
        VERIFY_CONTAINS(list, list.err, QStringLiteral("unflushed junk from sys.__stdout__ in %1").arg(QLatin1String(where)));
    }

    const HostRun call = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("stdout"), QStringLiteral("--call"), noisyId,
                                  QStringLiteral("noisy"), QStringLiteral("--args"), QStringLiteral("[\"kept\"]")});
    VERIFY_EXIT(call, 0);
    QCOMPARE(call.out, QByteArray("{\"value\":\"kept\",\"written\":true}\n"));
    for (const char *where : {"import", "on_load", "noisy"}) {
        VERIFY_CONTAINS(call, call.err, QStringLiteral("junk from os.write(1) in %1").arg(QLatin1String(where)));
        VERIFY_CONTAINS(call, call.err, QStringLiteral("junk from sys.__stdout__ in %1").arg(QLatin1String(where)));
        VERIFY_CONTAINS(call, call.err, QStringLiteral("unflushed junk from sys.__stdout__ in %1").arg(QLatin1String(where)));
    }
}

void HeadlessTest::testHugeError_data()
{
    QTest::addColumn<QString>("pluginId");
    QTest::addColumn<QString>("function");
    QTest::addColumn<QStringList>("expected"); // on stderr
    QTest::addColumn<QByteArray>("headline"); // on stderr exactly once: the error is printed once

    // The message keeps 32,768 characters at each end: of "start of the message " + 50,000,000
    // "x" + " end of the message" (50,000,040 characters), 49,934,504 are cut.
    QTest::newRow("50 MB message") << hugeCallErrorId << QStringLiteral("huge_message")
                                   << QStringList{QStringLiteral("ValueError: start of the message xxx"),
                                                  QStringLiteral("xxx… [49,934,504 characters cut] …xxx"),
                                                  QStringLiteral("xxx end of the message"),
                                                  QStringLiteral("Traceback (most recent call last)"),
                                                  QStringLiteral("hugecallerror.py\", line 6, in huge_message")}
                                   << QByteArray("org.pluginhost.test.hugecallerror: ValueError: start of the message");
    // Every exception of the chain repeats the message: whole ones are cut from the middle.
    QTest::newRow("chain sharing a 5 MB message") << hugeCallErrorId << QStringLiteral("huge_chain")
                                                   << QStringList{QStringLiteral("LookupError: the last of the chain"),
                                                                  QStringLiteral("RuntimeError: yyy"),
                                                                  QStringLiteral("characters cut] …"),
                                                                  QStringLiteral("The above exception was the direct cause of the following exception")}
                                                   << QByteArray("org.pluginhost.test.hugecallerror: LookupError: the last of the chain");
    // The value converter's errors name the type and the key: both bounded too.
    QTest::newRow("type name of 5 MB") << hugeCallErrorId << QStringLiteral("huge_type_name")
                                       << QStringList{QStringLiteral("TypeError: the result of huge_type_name(): a TTT"),
                                                      QStringLiteral("TTT… [4,934,"),
                                                      QStringLiteral("TTT cannot cross")}
                                       << QByteArray("org.pluginhost.test.hugecallerror: TypeError: the result of huge_type_name()");
    QTest::newRow("key of 5 MB") << hugeCallErrorId << QStringLiteral("huge_key")
                                 << QStringList{QStringLiteral("TypeError: the result of huge_key()[\"kkk"),
                                                QStringLiteral("kkk… [4,934,"),
                                                QStringLiteral("kkk\"]: ")}
                                 << QByteArray("org.pluginhost.test.hugecallerror: TypeError: the result of huge_key()");
    QTest::newRow("str() is a long repr") << hugeCallErrorId << QStringLiteral("huge_repr")
                                          << QStringList{QStringLiteral("KeyError: ['zzz"), QStringLiteral("characters cut] …")}
                                          << QByteArray("org.pluginhost.test.hugecallerror: KeyError: ['zzz");
    // Loading fails: the error is the SDK's log line, and the host's own line is short.
    QTest::newRow("50 MB load error") << hugeLoadErrorId << QStringLiteral("never_called")
                                      << QStringList{QStringLiteral("RuntimeError: start of the load error xxx"),
                                                     QStringLiteral("characters cut] …"),
                                                     QStringLiteral("xxx end of the load error"),
                                                     QStringLiteral("never_called() of org.pluginhost.test.hugeloaderror was not called")}
                                      << QByteArray("org.pluginhost.test.hugeloaderror: RuntimeError: start of the load error");
}

// An exception of 50 MB is printed once, bounded, with a marker saying how much was cut.
void HeadlessTest::testHugeError()
{
    QFETCH(QString, pluginId);
    QFETCH(QString, function);
    QFETCH(QStringList, expected);
    QFETCH(QByteArray, headline);

    const HostRun run =
        runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("huge-errors"), QStringLiteral("--call"), pluginId, function});
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    QVERIFY2(run.err.size() < boundedErrorBytes, QByteArray("stderr has " + QByteArray::number(run.err.size()) + " bytes\n" + run.describe()).constData());
    for (const QString &part : std::as_const(expected)) {
        VERIFY_CONTAINS(run, run.err, part);
    }
    QVERIFY2(run.err.count(headline) == 1, run.describe().constData());
}

// --list of a plugin whose load failed with a huge error: the JSON and the log are bounded.
void HeadlessTest::testHugeErrorInList()
{
    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("huge-errors"), QStringLiteral("--list")});
    VERIFY_EXIT(run, 0);
    QVERIFY2(run.out.size() < boundedErrorBytes, QByteArray("stdout has " + QByteArray::number(run.out.size()) + " bytes").constData());
    QVERIFY2(run.err.size() < boundedErrorBytes, QByteArray("stderr has " + QByteArray::number(run.err.size()) + " bytes").constData());
    const QHash<QString, QJsonObject> plugins = listedPlugins(QJsonDocument::fromJson(run.out).array());
    QCOMPARE(plugins.value(hugeCallErrorId).value(QLatin1String("state")).toString(), QStringLiteral("loaded"));
    const QJsonObject failed = plugins.value(hugeLoadErrorId);
    QCOMPARE(failed.value(QLatin1String("state")).toString(), QStringLiteral("failed"));
    const QString error = failed.value(QLatin1String("error")).toString();
    QVERIFY2(error.contains(QLatin1String("RuntimeError: start of the load error xxx")), run.describe().constData());
    QVERIFY2(error.contains(QStringLiteral("characters cut] …")), run.describe().constData());
    QVERIFY2(error.contains(QLatin1String("xxx end of the load error")), run.describe().constData());
    QVERIFY2(run.err.count("Traceback (most recent call last)") == 1, run.describe().constData());
}

// Whatever names a plugin with a NUL in its id, the message goes on past the NUL, on stderr as
// in the JSON.
void HeadlessTest::testIdWithNul()
{
    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("nul-id"), QStringLiteral("--list")});
    VERIFY_EXIT(run, 0);
    const QJsonArray entries = QJsonDocument::fromJson(run.out).array();
    QCOMPARE(entries.size(), 1);
    const QString error = entries.at(0).toObject().value(QLatin1String("error")).toString();
    QVERIFY2(!error.isEmpty(), run.describe().constData()); // invalid, or failed to load: either way it says why
    QVERIFY2(!error.contains(QChar(0)) || error.contains(QLatin1String("after-the-nul")), run.describe().constData());
    // On stderr a NUL is shown as \0, and the rest of the message follows it.
    VERIFY_CONTAINS(run, run.err, QString(error).replace(QChar(0), QLatin1String("\\0")));
}

// Floats JSON has no number for and bytes come out in the tagged form, and go back in as
// --args unchanged.
void HeadlessTest::testValuesJsonCannotHold()
{
    const QStringList base{QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("values"), QStringLiteral("--call"), valuesId};
    const HostRun special = runHost(base + QStringList{QStringLiteral("special")});
    VERIFY_EXIT(special, 0);
    const QJsonValue result = callResult(special);
    QVERIFY2(result.isObject(), special.describe().constData());
    const QJsonObject values = result.toObject();
    auto tagged = [](const char *tag, const QString &content) {
        return QJsonValue(QJsonObject{{QLatin1String(tag), content}});
    };
    QCOMPARE(values.value(QLatin1String("nan")), tagged("$float", QStringLiteral("nan")));
    QCOMPARE(values.value(QLatin1String("inf")), tagged("$float", QStringLiteral("inf")));
    QCOMPARE(values.value(QLatin1String("-inf")), tagged("$float", QStringLiteral("-inf")));
    QCOMPARE(values.value(QLatin1String("bytes")), tagged("$bytes", QString::fromLatin1(QByteArray::fromHex("00fffe20636166c3a9").toBase64())));
    QCOMPARE(values.value(QLatin1String("empty bytes")), tagged("$bytes", QString()));
    QCOMPARE(values.value(QLatin1String("buffer")), tagged("$bytes", QStringLiteral("gIE=")));
    // A dict that would read as a tagged value is wrapped; one with two members is plain.
    const QJsonObject taggedLooking{{QLatin1String("$bytes"), QStringLiteral("not bytes")}};
    QCOMPARE(values.value(QLatin1String("tagged-looking")), QJsonValue(QJsonObject{{QLatin1String("$dict"), taggedLooking}}));
    QCOMPARE(values.value(QLatin1String("two keys")), QJsonValue(QJsonObject{{QLatin1String("$float"), QStringLiteral("nan")}, {QLatin1String("other"), 1}}));
    QCOMPARE(values.value(QLatin1String("float")), QJsonValue(2.5));

    // What was printed goes back in as it came out...
    const QString printed = QString::fromUtf8(special.out.trimmed());
    const HostRun echo = runHost(base + QStringList{QStringLiteral("echo"), QStringLiteral("--args"), QLatin1Char('[') + printed + QLatin1Char(']')});
    VERIFY_EXIT(echo, 0);
    QCOMPARE(echo.out, QByteArray("[" + special.out.trimmed() + "]\n"));

    // ...as the same Python values.
    const HostRun described = runHost(base + QStringList{QStringLiteral("describe"), QStringLiteral("--args"), QLatin1Char('[') + printed + QLatin1Char(']')});
    VERIFY_EXIT(described, 0);
    const QString text = callResult(described).toArray().at(0).toString();
    for (const QString &part : {QStringLiteral("'nan': nan"),
                                QStringLiteral("'inf': inf"),
                                QStringLiteral("'-inf': -inf"),
                                QStringLiteral("'bytes': b'\\x00\\xff\\xfe caf\\xc3\\xa9'"),
                                QStringLiteral("'empty bytes': b''"),
                                QStringLiteral("'buffer': b'\\x80\\x81'"),
                                QStringLiteral("'tagged-looking': {'$bytes': 'not bytes'}"),
                                QStringLiteral("'two keys': {'$float': 'nan', 'other': 1}")}) {
        QVERIFY2(text.contains(part), qPrintable(QStringLiteral("expected %1 in %2").arg(part, text)));
    }
}

void HeadlessTest::testArgsTaggedValues_data()
{
    QTest::addColumn<QString>("args");
    QTest::addColumn<QStringList>("expected"); // what the plugin saw: type and repr of each argument

    QTest::newRow("floats") << QStringLiteral("[{\"$float\": \"nan\"}, {\"$float\": \"inf\"}, {\"$float\": \"-inf\"}, 2.5, 1e300]")
                            << QStringList{QStringLiteral("float nan"), QStringLiteral("float inf"), QStringLiteral("float -inf"), QStringLiteral("float 2.5"),
                                           QStringLiteral("float 1e+300")};
    // Qt's JSON keeps no difference between 2.0 and 2; $float says which one is meant.
    QTest::newRow("whole floats") << QStringLiteral("[2, 2.0, {\"$float\": \"2\"}, {\"$float\": \"-0.0\"}]")
                                  << QStringList{QStringLiteral("int 2"), QStringLiteral("int 2"), QStringLiteral("float 2.0"), QStringLiteral("float -0.0")};
    QTest::newRow("bytes") << QStringLiteral("[{\"$bytes\": \"AP8=\"}, {\"$bytes\": \"\"}, {\"$bytes\": \"w6k=\"}]")
                           << QStringList{QStringLiteral("bytes b'\\x00\\xff'"), QStringLiteral("bytes b''"), QStringLiteral("bytes b'\\xc3\\xa9'")};
    QTest::newRow("nested") << QStringLiteral("[[{\"k\": {\"$bytes\": \"YQ==\"}}]]") << QStringList{QStringLiteral("list [{'k': b'a'}]")};
    QTest::newRow("$dict") << QStringLiteral("[{\"$dict\": {\"$float\": {\"$float\": \"inf\"}}}, {\"$dict\": {}}]")
                           << QStringList{QStringLiteral("dict {'$float': inf}"), QStringLiteral("dict {}")};
    QTest::newRow("not tagged") << QStringLiteral("[{\"$bytes\": \"x\", \"y\": 1}, {\"bytes\": \"AP8=\"}]")
                                << QStringList{QStringLiteral("dict {'$bytes': 'x', 'y': 1}"), QStringLiteral("dict {'bytes': 'AP8='}")};
    QTest::newRow("NUL in text") << QStringLiteral("[\"a\\u0000b\"]") << QStringList{QStringLiteral("str 'a\\x00b'")};
}

void HeadlessTest::testArgsTaggedValues()
{
    QFETCH(QString, args);
    QFETCH(QStringList, expected);

    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("values"), QStringLiteral("--call"), valuesId,
                                 QStringLiteral("describe"), QStringLiteral("--args"), args});
    VERIFY_EXIT(run, 0);
    QJsonArray expectedJson;
    for (const QString &item : std::as_const(expected)) {
        expectedJson.append(item);
    }
    QCOMPARE(callResult(run), QJsonValue(expectedJson));
}

void HeadlessTest::testArgsBadTaggedValues_data()
{
    QTest::addColumn<QString>("args");
    QTest::addColumn<QStringList>("expected"); // on stderr

    QTest::newRow("unknown float") << QStringLiteral("[1, {\"$float\": \"lots\"}]")
                                   << QStringList{QStringLiteral("args[1]"), QStringLiteral("$float takes \"nan\", \"inf\", \"-inf\" or a number as text")};
    QTest::newRow("float as number") << QStringLiteral("[{\"$float\": 1.5}]") << QStringList{QStringLiteral("args[0]"), QStringLiteral("$float takes")};
    QTest::newRow("not base64") << QStringLiteral("[{\"k\": [{\"$bytes\": \"no base64!\"}]}]")
                                << QStringList{QStringLiteral("args[0][\"k\"][0]"), QStringLiteral("$bytes takes base64 text")};
    QTest::newRow("bytes as number") << QStringLiteral("[{\"$bytes\": 5}]") << QStringList{QStringLiteral("args[0]"), QStringLiteral("$bytes takes base64 text")};
    QTest::newRow("unknown tag") << QStringLiteral("[{\"$set\": [1]}]")
                                 << QStringList{QStringLiteral("args[0]"), QStringLiteral("\"$set\" is none"), QStringLiteral("{\"$dict\": {…}}")};
    QTest::newRow("$dict of a list") << QStringLiteral("[{\"$dict\": [1]}]") << QStringList{QStringLiteral("args[0]"), QStringLiteral("$dict takes an object")};
    QTest::newRow("lone surrogate") << QStringLiteral("[\"a\\ud800b\"]") << QStringList{QStringLiteral("args[0]"), QStringLiteral("lone surrogate")};
    QTest::newRow("lone surrogate in a key") << QStringLiteral("[{\"\\udc00\": 1}]")
                                             << QStringList{QStringLiteral("args[0]"), QStringLiteral("lone surrogate")};
}

void HeadlessTest::testArgsBadTaggedValues()
{
    QFETCH(QString, args);
    QFETCH(QStringList, expected);

    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures("values"), QStringLiteral("--call"), valuesId,
                                 QStringLiteral("describe"), QStringLiteral("--args"), args});
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, QStringLiteral("pluginhost: --args: "));
    for (const QString &part : std::as_const(expected)) {
        VERIFY_CONTAINS(run, run.err, part);
    }
}

void HeadlessTest::testUnknownPlugin()
{
    const HostRun run =
        runHost({QStringLiteral("--headless"), QStringLiteral("--call"), QStringLiteral("org.example.nowhere"), QStringLiteral("greet")});
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, QStringLiteral("org.example.nowhere"));
    VERIFY_CONTAINS(run, run.err, greeterId);
    VERIFY_CONTAINS(run, run.err, textStatsId);
}

void HeadlessTest::testUnknownFunction_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("function");
    QTest::addColumn<QStringList>("available");
    QTest::addColumn<QStringList>("hidden"); // exist but are not offered

    QTest::newRow("greeter") << QStringList{QStringLiteral("--headless"), QStringLiteral("--call"), greeterId, QStringLiteral("shout")}
                             << QStringLiteral("shout") << QStringList{QStringLiteral("greet"), QStringLiteral("languages")} << QStringList();
    QTest::newRow("private function") << QStringList{QStringLiteral("--headless"),
                                                     QStringLiteral("--plugin-dir"),
                                                     fixtures(),
                                                     QStringLiteral("--call"),
                                                     goodId,
                                                     QStringLiteral("_raise"),
                                                     QStringLiteral("--args"),
                                                     QStringLiteral("[\"x\"]")}
                                      << QStringLiteral("_raise") << QStringList{QStringLiteral("echo"), QStringLiteral("fail")}
                                      << QStringList{QStringLiteral("ValueError")};
    QTest::newRow("module global that is no function") << QStringList{QStringLiteral("--headless"), QStringLiteral("--call"), greeterId, QStringLiteral("GREETINGS")}
                                                       << QStringLiteral("GREETINGS") << QStringList{QStringLiteral("greet"), QStringLiteral("languages")}
                                                       << QStringList();
}

void HeadlessTest::testUnknownFunction()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, function);
    QFETCH(QStringList, available);
    QFETCH(QStringList, hidden);

    const HostRun run = runHost(arguments);
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, function);
    for (const QString &name : std::as_const(available)) {
        VERIFY_CONTAINS(run, run.err, name);
    }
    for (const QString &text : std::as_const(hidden)) {
        QVERIFY2(!QString::fromUtf8(run.err).contains(text), run.describe().constData());
    }
}

void HeadlessTest::testArgsNotAJsonArray_data()
{
    QTest::addColumn<QString>("args");

    QTest::newRow("object") << QStringLiteral("{\"name\": \"world\"}");
    QTest::newRow("string") << QStringLiteral("\"world\"");
    QTest::newRow("number") << QStringLiteral("42");
    QTest::newRow("bare word") << QStringLiteral("world");
    QTest::newRow("unterminated") << QStringLiteral("[\"world\"");
    QTest::newRow("python syntax") << QStringLiteral("['world']");
}

void HeadlessTest::testArgsNotAJsonArray()
{
    QFETCH(QString, args);

    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--call"), greeterId, QStringLiteral("greet"), QStringLiteral("--args"), args});
    VERIFY_EXIT(run, 1);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, QStringLiteral("--args"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("JSON array"));
}

void HeadlessTest::testUsageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QStringList>("expected"); // on stderr

    QTest::newRow("no arguments") << QStringList() << QStringList{QStringLiteral("--headless")};
    QTest::newRow("--list without --headless") << QStringList{QStringLiteral("--list")} << QStringList{QStringLiteral("--headless")};
    QTest::newRow("--headless alone") << QStringList{QStringLiteral("--headless")} << QStringList{QStringLiteral("--list"), QStringLiteral("--call")};
    QTest::newRow("--headless with only --plugin-dir") << QStringList{QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), fixtures()}
                                                       << QStringList{QStringLiteral("--list"), QStringLiteral("--call")};
    QTest::newRow("--call without function") << QStringList{QStringLiteral("--headless"), QStringLiteral("--call"), greeterId}
                                             << QStringList{QStringLiteral("function")};
    QTest::newRow("--timeout not a number") << QStringList{QStringLiteral("--headless"), QStringLiteral("--call"), greeterId, QStringLiteral("languages"),
                                                           QStringLiteral("--timeout"), QStringLiteral("soon")}
                                            << QStringList{QStringLiteral("--timeout"), QStringLiteral("milliseconds")};
    QTest::newRow("--timeout zero") << QStringList{QStringLiteral("--headless"), QStringLiteral("--call"), greeterId, QStringLiteral("languages"),
                                                   QStringLiteral("--timeout"), QStringLiteral("0")}
                                    << QStringList{QStringLiteral("--timeout"), QStringLiteral("positive")};
    QTest::newRow("--timeout without --call") << QStringList{QStringLiteral("--headless"), QStringLiteral("--list"), QStringLiteral("--timeout"), QStringLiteral("100")}
                                              << QStringList{QStringLiteral("--timeout needs --call")};
}

void HeadlessTest::testUsageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QStringList, expected);

    const HostRun run = runHost(arguments);
    VERIFY_EXIT(run, 2);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    for (const QString &part : std::as_const(expected)) {
        VERIFY_CONTAINS(run, run.err, part);
    }
}

QTEST_GUILESS_MAIN(HeadlessTest)

void HeadlessTest::testEnableAndDisableArePersisted()
{
    QTemporaryDir profile;
    QVERIFY(profile.isValid());
    const QStringList base{QStringLiteral("--headless"), QStringLiteral("--profile"), profile.path(), QStringLiteral("--plugin-dir"), fixtures()};
    auto list = [&](const QStringList &extra) {
        const HostRun run = runHost(base + extra + QStringList{QStringLiteral("--list")});
        return std::pair{run, listedPlugins(QJsonDocument::fromJson(run.out).array())};
    };

    auto [first, plugins] = list({});
    VERIFY_EXIT(first, 0);
    QCOMPARE(plugins.value(goodId).value(QLatin1String("enabled")).toBool(false), true);
    QVERIFY(plugins.value(goodId).value(QLatin1String("last_error")).isNull());
    const QString lastError = plugins.value(raisingId).value(QLatin1String("last_error")).toString();
    QVERIFY2(lastError.contains(QLatin1String("raising.py refuses to be imported")), first.describe().constData());

    const HostRun disable = runHost(base + QStringList{QStringLiteral("--disable"), goodId});
    VERIFY_EXIT(disable, 0);
    QVERIFY2(QFile::exists(profile.filePath(QStringLiteral("pluginhost.sqlite"))), disable.describe().constData());

    auto [second, afterDisable] = list({});
    VERIFY_EXIT(second, 0);
    QCOMPARE(afterDisable.value(goodId).value(QLatin1String("enabled")).toBool(true), false);
    QCOMPARE(afterDisable.value(goodId).value(QLatin1String("state")).toString(), QStringLiteral("unloaded")); // --list loads enabled plugins only
    // The error of the last run is remembered while the plugin was not loaded again.
    QCOMPARE(afterDisable.value(raisingId).value(QLatin1String("last_error")).toString(), lastError);

    auto [third, afterEnable] = list({QStringLiteral("--enable"), goodId});
    VERIFY_EXIT(third, 0);
    QCOMPARE(afterEnable.value(goodId).value(QLatin1String("enabled")).toBool(false), true);
    QCOMPARE(afterEnable.value(goodId).value(QLatin1String("state")).toString(), QStringLiteral("loaded"));

    const HostRun unknown = runHost(base + QStringList{QStringLiteral("--enable"), QStringLiteral("org.test.nobody")});
    VERIFY_EXIT(unknown, 1);
    VERIFY_CONTAINS(unknown, unknown.err, QStringLiteral("no plugin with id 'org.test.nobody'"));
}

// --timeout with a plugin running Python: Cancelled ends it, the stack shows where it was.
void HeadlessTest::testTimeoutInPython()
{
    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), stuckFixtures(), QStringLiteral("--call"), stuckId,
                                 QStringLiteral("spin"), QStringLiteral("--timeout"), QStringLiteral("1000")});
    qInfo("--timeout 1000 on a plugin looping in Python: the host exited after %lld ms", run.elapsedMs);
    VERIFY_EXIT(run, 2);
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, QStringLiteral("pluginhost: org.pluginhost.test.stuck: spin() did not return within 1000 ms"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("Python stack of org.pluginhost.test.stuck"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("stuck.py\", line"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("in spin"));
    QVERIFY2(!QString::fromUtf8(run.err).contains(QLatin1String("quarantined")), run.describe().constData()); // Cancelled stopped it
}

// --timeout with a plugin asleep in C: reported blocked, quarantined on the way out, and the
// host still exits soon, leaving the sleeping thread to the end of the process.
void HeadlessTest::testTimeoutBlockedInC()
{
    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--plugin-dir"), stuckFixtures(), QStringLiteral("--call"), stuckId,
                                 QStringLiteral("nap"), QStringLiteral("--args"), QStringLiteral("[3600]"), QStringLiteral("--timeout"), QStringLiteral("1000")});
    qInfo("--timeout 1000 on a plugin blocked in C: the host exited after %lld ms", run.elapsedMs);
    VERIFY_EXIT(run, 2);
    QVERIFY2(run.elapsedMs < 30000, run.describe().constData()); // the nap lasts an hour
    QVERIFY2(run.out.isEmpty(), run.describe().constData());
    VERIFY_CONTAINS(run, run.err, QStringLiteral("pluginhost: org.pluginhost.test.stuck: nap() did not return within 1000 ms; it is blocked in C"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("Python stack of org.pluginhost.test.stuck"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("was quarantined"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("plugins left behind"));
    VERIFY_CONTAINS(run, run.err, QStringLiteral("not finalizing CPython"));
}

void HeadlessTest::testTimeoutNotReached()
{
    const HostRun run = runHost({QStringLiteral("--headless"), QStringLiteral("--call"), greeterId, QStringLiteral("greet"), QStringLiteral("--args"),
                                 QStringLiteral("[\"world\"]"), QStringLiteral("--timeout"), QStringLiteral("30000")});
    VERIFY_EXIT(run, 0);
    QCOMPARE(run.out, QByteArray("\"Hello, world!\"\n"));
}

#include "headlesstest.moc"
