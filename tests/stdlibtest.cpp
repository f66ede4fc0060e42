// CPython's own test suite as a peer: each row runs tests of the standard library's `test`
// package with unittest inside a plugin (tests/data/stdlib/runner) and, with the same runner,
// in the plain interpreter the SDK embeds. Every test that passes in the plain interpreter must
// pass in the plugin, except the exclusions below, each with its reason: what CPython itself
// refuses in an isolated subinterpreter, and CPython's own subinterpreter bugs of older releases.
#include "futurehelpers.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QDir>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <signal.h>
#include <QVersionNumber>

using namespace PluginHost;
using namespace PluginHost::Tests;
using namespace std::chrono_literals;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/stdlib");
const QString runnerId = QStringLiteral("org.test.stdlib");
const QString runnerScript = fixtures + QStringLiteral("/runner/stdlibrunner.py");

// Generous: a row takes seconds; the deadline only turns a hang into a report naming the row.
constexpr std::chrono::milliseconds rowDeadline = 4min;

// Why a test that passes in the plain interpreter cannot pass in a plugin: what CPython refuses
// in an isolated subinterpreter, and CPython's own subinterpreter bugs on older releases.
const char *const signalHandlers =
    "installs a signal handler (signal.signal, signal.set_wakeup_fd, asyncio's child watcher): "
    "CPython allows that only in the main thread of the main interpreter";
const char *const daemonThreads = "starts a daemon thread: a plugin's interpreter refuses them (allow_daemon_threads=0), as it could not stop them at unload";
const char *const forks =
    "forks (multiprocessing's default start method on Linux): CPython refuses fork in an isolated subinterpreter (allow_fork=0)";
const char *const testCapi = "needs _testcapi, a single-phase test extension that CPython refuses to import in an isolated subinterpreter";
const char *const singlePhase312 =
    "needs a C accelerator that is a single-phase extension on CPython 3.12 (_decimal, _datetime; multi-phase from 3.13): "
    "an isolated subinterpreter refuses it and gets the pure-Python module";
const char *const testCapiAtImport312 =
    "the module imports _testcapi, a single-phase test extension, when it is imported (on 3.12, directly or through test_dbapi): "
    "an isolated subinterpreter refuses it, so none of the module's tests run";
const char *const slotWrappers312 =
    "CPython bug python/cpython#117482, fixed in 3.12.5: in a subinterpreter, builtin types get slot wrappers of their own "
    "(int.__str__, int.__init__), so str() of an IntEnum and copyreg's reconstruction of int subclasses behave differently";

struct Exclusion {
    const char *test; ///< a test id, or a module or class whose every test is meant (and its import)
    const char *reason;
    const char *fixedIn = nullptr; ///< the first CPython version it no longer applies to; null: every version
};

const Exclusion exclusions[] = {
    {"test.test_re.ReTests.test_regression_gh94675", forks},
    {"test.test_sqlite3.test_dbapi.BlobTests.test_blob_get_item_error_bigint", testCapi},
    {"test.test_sqlite3.test_dbapi.BlobTests.test_blob_seek_overflow_error", testCapi},
    {"test.test_sqlite3.test_dbapi", testCapiAtImport312, "3.13"},
    {"test.test_sqlite3.test_dump", testCapiAtImport312, "3.13"},
    {"test.test_sqlite3.test_hooks", testCapiAtImport312, "3.13"},
    {"test.test_sqlite3.test_regression", testCapiAtImport312, "3.13"},
    {"test.test_sqlite3.test_transactions", testCapiAtImport312, "3.13"},
    {"test.test_sqlite3.test_userfunctions", testCapiAtImport312, "3.13"},
    {"test.test_asyncio.test_streams.StreamTests.test_drain_raises", daemonThreads},
    {"test.test_asyncio.test_streams.StreamTests.test_read_all_from_pipe_reader", signalHandlers},
    {"test.test_socket.BasicTCPTest.testShutdown_overflow", testCapi},
    {"test.test_socket.GeneralModuleTests.testGetaddrinfo", slotWrappers312, "3.12.5"},
    {"test.test_socket.GeneralModuleTests.testNtoHErrors", testCapi},
    {"test.test_socket.GeneralModuleTests.test_getaddrinfo_int_port_overflow", testCapi},
    {"test.test_socket.GeneralModuleTests.test_listen_backlog_overflow", testCapi},
    {"test.test_socket.GeneralModuleTests.test_sendall_interrupted", signalHandlers},
    {"test.test_socket.GeneralModuleTests.test_sendall_interrupted_with_timeout", signalHandlers},
    {"test.test_socket.GeneralModuleTests.test_str_for_enums", slotWrappers312, "3.12.5"},
    {"test.test_socket.NonBlockingTCPTests.testSetBlocking_overflow", testCapi},
    {"test.test_socket.TCPTimeoutTest.testInterruptedTimeout", signalHandlers},
    {"test.test_pickle.CPicklerTests.test_complex_newobj", slotWrappers312, "3.12.5"},
    {"test.test_pickle.CPicklerTests.test_complex_newobj_ex", slotWrappers312, "3.12.5"},
    {"test.test_pickle.CPicklerTests.test_misc", slotWrappers312, "3.12.5"},
    {"test.test_pickle.CPicklerTests.test_simple_newobj", slotWrappers312, "3.12.5"},
    {"test.test_pickle.InMemoryPickleTests.test_complex_newobj", slotWrappers312, "3.12.5"},
    {"test.test_pickle.InMemoryPickleTests.test_complex_newobj_ex", slotWrappers312, "3.12.5"},
    {"test.test_pickle.InMemoryPickleTests.test_misc", slotWrappers312, "3.12.5"},
    {"test.test_pickle.InMemoryPickleTests.test_simple_newobj", slotWrappers312, "3.12.5"},
    {"test.test_email.test_utils", singlePhase312, "3.13"}, // zoneinfo needs _datetime's C API
    {"test.test_decimal", singlePhase312, "3.13"}, // the row runs the C implementation's tests only
    {"test.test_collections.TestNamedTuple.test_odd_sizes", testCapi},
    {"test.test_functools.TestLRUC.test_lru_recursion", testCapi},
    {"test.test_functools.TestLRUPy.test_lru_recursion", testCapi},
    {"test.test_functools.TestSingleDispatch.test_c_classes", singlePhase312, "3.13"}, // needs _decimal
};

// Why `testId` may fail in a plugin on this CPython, or null. A module that failed to import
// is reported as "import <name>" (stdlibrunner.py).
const char *exclusionReason(const QString &testId)
{
    static const QVersionNumber running = QVersionNumber::fromString(Runtime::pythonVersion());
    const QString subject = testId.startsWith(QLatin1String("import ")) ? testId.mid(7) : testId;
    for (const Exclusion &exclusion : exclusions) {
        if (exclusion.fixedIn && running >= QVersionNumber::fromString(QLatin1String(exclusion.fixedIn))) {
            continue;
        }
        const QLatin1String excluded(exclusion.test);
        if (subject == excluded || (subject.startsWith(excluded) && subject.at(excluded.size()) == QLatin1Char('.'))) {
            return exclusion.reason;
        }
    }
    return nullptr;
}

// One side's report (stdlibrunner.run()): counts, and per test id [outcome, detail].
struct Report {
    QVariantMap counts;
    QVariantMap outcomes;

    static Report from(const QVariantMap &map)
    {
        Report report{map, map.value(QStringLiteral("outcomes")).toMap()};
        report.counts.remove(QStringLiteral("outcomes"));
        return report;
    }
    QString outcome(const QString &testId) const
    {
        return outcomes.value(testId).toList().value(0).toString();
    }
    QString detail(const QString &testId) const
    {
        return outcomes.value(testId).toList().value(1).toString();
    }
    qsizetype passed() const
    {
        return std::count_if(outcomes.cbegin(), outcomes.cend(), [](const QVariant &entry) {
            return entry.toList().value(0).toString() == QLatin1String("passed");
        });
    }
    QString summary() const
    {
        return QStringLiteral("%1 run, %2 passed, %3 failures, %4 errors, %5 skipped in %6 s")
            .arg(counts.value(QStringLiteral("run")).toInt())
            .arg(passed())
            .arg(counts.value(QStringLiteral("failures")).toInt())
            .arg(counts.value(QStringLiteral("errors")).toInt())
            .arg(counts.value(QStringLiteral("skipped")).toInt())
            .arg(counts.value(QStringLiteral("seconds")).toDouble());
    }
};

QString indented(const QString &text)
{
    QString result = text;
    return QStringLiteral("      ") + result.replace(QLatin1Char('\n'), QStringLiteral("\n      "));
}
} // namespace

class StdlibTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void testPassesAsInThePlainInterpreter_data();
    void testPassesAsInThePlainInterpreter();

private:
    Report runInPlugin(const QStringList &names);
    PluginManager *m_manager = nullptr;
    QTemporaryDir m_dataLocation;
    QTemporaryDir m_pluginWorkingDirectory;
    QTemporaryDir m_plainWorkingDirectory;
    QString m_originalWorkingDirectory;
};

void StdlibTest::initTestCase()
{
    QVERIFY(m_dataLocation.isValid() && m_pluginWorkingDirectory.isValid() && m_plainWorkingDirectory.isValid());
    QVERIFY2(QFileInfo(QStringLiteral(PLUGINHOST_TEST_PYTHON)).isExecutable(), PLUGINHOST_TEST_PYTHON);
    // The tests write their scratch files (test.support's TESTFN) into the working directory;
    // a plugin shares the process's.
    m_originalWorkingDirectory = QDir::currentPath();
    // QtTest's crash handler takes SIGPIPE, where an application leaves it at its default; the
    // runtime ignores it only then, as CPython's own program does (tests write to closed sockets).
    QVERIFY(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    // What the tests print and log (asyncio's slow-callback warnings, tracebacks they provoke on
    // purpose) is not what this test checks; the plain interpreter's output is dropped as well.
    QLoggingCategory::setFilterRules(QStringLiteral("pluginhost.plugin.%1=false").arg(runnerId));
    QVERIFY(QDir::setCurrent(m_pluginWorkingDirectory.path()));
    m_manager = new PluginManager(this);
    m_manager->setDataLocation(m_dataLocation.path());
    m_manager->setProfileDirectory(m_dataLocation.path());
    m_manager->setSearchPaths({fixtures});
    m_manager->discover();
    QVERIFY(m_manager->plugin(runnerId));
}

void StdlibTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
    delete m_manager;
    QDir::setCurrent(m_originalWorkingDirectory);
}

// Each row gets a fresh interpreter: the tests change module state (asyncio's policy, warnings
// filters, codecs) as they would in a process of their own under regrtest.
Report StdlibTest::runInPlugin(const QStringList &names)
{
    Plugin *runner = m_manager->plugin(runnerId);
    const QFuture<CallResult> load = runner->load();
    if (!settle(load) || !load.result()) {
        qWarning().noquote() << "the runner plugin did not load:" << (load.isFinished() ? load.result().error().errorText() : QString());
        return {};
    }
    const QFuture<QVariant> call = runner->call(QStringLiteral("run"), {names}, CallOptions{rowDeadline});
    settle(call, int((rowDeadline + 30s).count()));
    const CallResult result = call.isFinished() ? CallResult::fromFuture(call) : CallResult(PluginError(PluginError::Kind::TimedOut, runnerId, QStringLiteral("the call did not end")));
    settle(runner->unload());
    if (!result) {
        qWarning().noquote() << "the runner plugin failed:" << result.error().errorText();
        return {};
    }
    return Report::from(result.value().toMap());
}

void StdlibTest::testPassesAsInThePlainInterpreter_data()
{
    QTest::addColumn<QStringList>("names");
    const auto row = [](const char *name, const QStringList &names) {
        QTest::newRow(name) << names;
    };
    const auto tests = [](const char *module, std::initializer_list<const char *> classes) {
        QStringList names;
        for (const char *name : classes) {
            names.append(QStringLiteral("test.%1.%2").arg(QLatin1String(module), QLatin1String(name)));
        }
        return names;
    };

    // Under a sanitizer, the rows that reach the SDK's own code (threads, sockets, the asyncio
    // loop, stdout) stay; the ones that only compute inside CPython go.
    row("json", {QStringLiteral("test.test_json")});
    row("re", {QStringLiteral("test.test_re")});
    row("string", {QStringLiteral("test.test_string")});
    row("struct", {QStringLiteral("test.test_struct")});
    row("sqlite3", {QStringLiteral("test.test_sqlite3")});
    row("asyncio.locks", {QStringLiteral("test.test_asyncio.test_locks")});
    row("asyncio.sock_lowlevel", tests("test_asyncio.test_sock_lowlevel", {"EPollEventLoopTests"}));
    row("asyncio.streams", {QStringLiteral("test.test_asyncio.test_streams")});
    row("socket",
        tests("test_socket",
              {"GeneralModuleTests", "BasicTCPTest", "BasicUDPTest", "TCPTimeoutTest", "UDPTimeoutTest", "NonBlockingTCPTests",
               "BasicSocketPairTest"}));
#ifndef PLUGINHOST_TEST_SANITIZED
    row("pickle",
        tests("test_pickle",
              {"CPicklerTests", "CUnpicklerTests", "CPicklingErrorTests", "CPicklerUnpicklerObjectTests", "CDispatchTableTests",
               "CChainDispatchTableTests", "CPicklerHookTests", "CompatPickleTests", "InMemoryPickleTests"}));
    row("email",
        tests("test_email",
              {"test_message", "test__header_value_parser", "test_headerregistry", "test_contentmanager", "test_policy", "test_generator",
               "test_parser", "test_utils", "test__encoded_words", "test_defect_handling", "test_pickleable"}));
    row("decimal",
        tests("test_decimal",
              {"CExplicitConstructionTest", "CImplicitConstructionTest", "CFormatTest", "CArithmeticOperatorsTest", "CThreadingTest",
               "CUsabilityTest", "CPythonAPItests", "CContextAPItests", "CContextWithStatement", "CContextFlags", "CSpecialContexts",
               "CContextInputValidation", "CContextSubclassing", "CCoverage", "CFunctionality", "CWhitebox"}));
    row("collections", {QStringLiteral("test.test_collections")});
    row("functools", {QStringLiteral("test.test_functools")});
    row("csv", {QStringLiteral("test.test_csv")});
    row("base64", {QStringLiteral("test.test_base64")});
    row("textwrap", {QStringLiteral("test.test_textwrap")});
    row("zlib", {QStringLiteral("test.test_zlib")});
    row("hashlib", {QStringLiteral("test.test_hashlib")});
#endif
}

void StdlibTest::testPassesAsInThePlainInterpreter()
{
    QFETCH(QStringList, names);

    // The plain interpreter runs beside the plugin: two cores, half the time.
    const QString plainReportFile = m_plainWorkingDirectory.filePath(QStringLiteral("%1.json").arg(QString::fromLatin1(QTest::currentDataTag())));
    QProcess plain;
    plain.setWorkingDirectory(m_plainWorkingDirectory.path());
    plain.setProcessChannelMode(QProcess::MergedChannels);
    // -I -S: as in a plugin, no site-packages, no user site, no PYTHON* variables.
    plain.start(QStringLiteral(PLUGINHOST_TEST_PYTHON), QStringList{QStringLiteral("-I"), QStringLiteral("-S"), runnerScript, plainReportFile} + names);
    QVERIFY2(plain.waitForStarted(), qPrintable(plain.errorString()));

    const Report inPlugin = runInPlugin(names);

    QVERIFY(QTest::qWaitFor(
        [&plain] {
            return plain.state() == QProcess::NotRunning;
        },
        int(rowDeadline.count())));
    // The report file, written last, says whether the plain run ended well. Its exit status may be
    // lost: test.support.reap_children() in the plugin waits for any child of this process.
    QFile plainReportJson(plainReportFile);
    const QByteArray plainOutput = plain.readAll().right(4000);
    QVERIFY2(plainReportJson.open(QIODevice::ReadOnly), plainOutput.constData());
    const Report inPlain = Report::from(QJsonDocument::fromJson(plainReportJson.readAll()).toVariant().toMap());
    QVERIFY2(inPlain.passed() > 0, qPrintable(QStringLiteral("the plain interpreter passed no test: nothing to compare\n%1").arg(QString::fromUtf8(plainOutput))));
    QVERIFY2(!inPlugin.counts.isEmpty(), "the plugin gave no report (see the warning above)");

    qInfo().noquote() << "plain interpreter:" << inPlain.summary();
    qInfo().noquote() << "plugin:           " << inPlugin.summary();

    QStringList problems;
    qsizetype excluded = 0;
    QMap<QString, QStringList> missingByClass; // tests that did not run in the plugin at all
    for (auto it = inPlain.outcomes.cbegin(); it != inPlain.outcomes.cend(); ++it) {
        const QString &testId = it.key();
        if (inPlain.outcome(testId) != QLatin1String("passed")) {
            continue;
        }
        const QString outcome = inPlugin.outcome(testId);
        const char *reason = exclusionReason(testId);
        if (outcome == QLatin1String("passed")) {
            if (reason) {
                qInfo().noquote() << "excluded, yet passed in the plugin:" << testId << "(is its exclusion still needed?)";
            }
        } else if (reason) {
            ++excluded;
        } else if (outcome.isEmpty()) {
            missingByClass[testId.section(QLatin1Char('.'), 0, -2)].append(testId.section(QLatin1Char('.'), -1));
        } else {
            problems.append(QStringLiteral("%1: %2 in the plugin\n%3").arg(testId, outcome, indented(inPlugin.detail(testId))));
        }
    }
    for (auto it = missingByClass.cbegin(); it != missingByClass.cend(); ++it) {
        problems.append(QStringLiteral("%1: %2 tests did not run in the plugin (%3)").arg(it.key()).arg(it.value().size()).arg(it.value().join(QStringLiteral(", "))));
    }
    // What failed outside any test (an import, setUpClass, tearDownModule) only in the plugin.
    for (auto it = inPlugin.outcomes.cbegin(); it != inPlugin.outcomes.cend(); ++it) {
        const QString &testId = it.key();
        const QString outcome = inPlugin.outcome(testId);
        if ((outcome == QLatin1String("failed") || outcome == QLatin1String("error")) && !inPlain.outcomes.contains(testId) && !exclusionReason(testId)) {
            problems.append(QStringLiteral("%1: %2 in the plugin only\n%3").arg(testId, outcome, indented(inPlugin.detail(testId))));
        }
    }

    if (excluded > 0) {
        qInfo().noquote() << excluded << "tests of the known exclusions did not pass, as expected";
    }
    // One message per problem: QTest cuts a failure's own message at 1 KiB.
    for (const QString &problem : std::as_const(problems)) {
        qWarning().noquote() << problem;
    }
    QVERIFY2(problems.isEmpty(), qPrintable(QStringLiteral("%1 differences from the plain interpreter (listed above)").arg(problems.size())));
}

QTEST_GUILESS_MAIN(StdlibTest)
#include "stdlibtest.moc"
