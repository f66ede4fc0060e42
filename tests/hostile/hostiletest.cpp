// The hostile-plugin suite: every plugin under tests/hostile/plugins/ runs in hostiledriver, a
// process of its own, beside the canary (tests/hostile/canary/), and is held to its entry in
// tests/hostile/expectations.json and to what any plugin, however hostile, owes the application:
// - the process neither crashes nor hangs (a bound of 90 s: a hang detector, not a timing);
// - every future the driver got was resolved;
// - the canary answered while the plugin loaded, ran, reloaded and unloaded, and after, and its
//   storage, data_dir and registry entry are intact;
// - every error names the plugin (a folder that is no plugin: the folder), and stays bounded.
// One row per folder: adding a plugin adds a row. The drivers run a few at a time, ahead of the
// row that waits for them. `ctest -L hostile` runs the suite; `hostiletest testPlugin:<name>`
// one row.
#include "driverpool.h"
#include "hostilecorpus.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <algorithm>

using namespace PluginHost::Hostile;

namespace
{
const QString corpus = QStringLiteral(HOSTILE_CORPUS);
const QString canarySecret = QStringLiteral("the canary's own secret");

// An error text longer than this is not a message any more: issue 11 asks for bounds.
constexpr qsizetype errorTextBound = 1024 * 1024;
constexpr int hostTimeoutMs = 60 * 1000;

// The keys expectations.json may use: a misspelt one would silently check nothing.
const QStringList rowKeys{QStringLiteral("expect"),
                          QStringLiteral("discovery"),
                          QStringLiteral("discoveryErrorContains"),
                          QStringLiteral("siblings"),
                          QStringLiteral("inflate"),
                          QStringLiteral("metadataText"),
                          QStringLiteral("load"),
                          QStringLiteral("loadErrorContains"),
                          QStringLiteral("reload"),
                          QStringLiteral("unload"),
                          QStringLiteral("steps"),
                          QStringLiteral("afterReload"),
                          QStringLiteral("logContains"),
                          QStringLiteral("headless")};
const QStringList stepKeys{QStringLiteral("call"),
                           QStringLiteral("args"),
                           QStringLiteral("expect"),
                           QStringLiteral("value"),
                           QStringLiteral("errorContains"),
                           QStringLiteral("timeoutMs"),
                           QStringLiteral("broadcast"),
                           QStringLiteral("payload")};

QStringList corpusRows()
{
    QStringList rows = QDir(corpus + QStringLiteral("/plugins")).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    rows.removeAll(QStringLiteral("__pycache__"));
    return rows;
}

QString shortened(const QString &text, qsizetype length = 600)
{
    return text.size() <= length ? text : text.left(length) + QStringLiteral("… (%1 characters)").arg(text.size());
}

QString json(const QJsonValue &value)
{
    return shortened(QString::fromUtf8(QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact)).mid(1).chopped(1));
}

QStringList strings(const QJsonValue &value)
{
    QStringList list;
    for (const QJsonValue &item : value.toArray()) {
        list.append(item.toString());
    }
    return list;
}

// "returns", "fails" or "either", from a row's "load"/"reload"/"unload" ("loads", "succeeds").
QString normalized(const QString &expect)
{
    if (expect == QLatin1String("loads") || expect == QLatin1String("succeeds")) {
        return QStringLiteral("returns");
    }
    return expect;
}

// The checks of one row, each failure a line of the row's message.
class RowCheck
{
public:
    RowCheck(const QString &row, const QJsonObject &expectation, const QJsonObject &report)
        : m_row(row)
        , m_expectation(expectation)
        , m_report(report)
        , m_pluginId(report.value(QStringLiteral("pluginId")).toString())
        // A driver that crashed or stopped early is reported as such; what it never got to is no
        // further problem.
        , m_cutShort(!report.value(QStringLiteral("finished")).toBool() || report.value(QStringLiteral("stalled")).toBool())
    {
    }

    QStringList problems;

    void checkFutures();
    void checkCanary();
    // False when the plugin was rightly not discovered: nothing else of it to check.
    bool checkDiscovery();
    void checkPhases();
    void checkLog();

private:
    void checkFolderRejected(const QJsonObject &discovery, const QStringList &needles);
    // `expect`: "returns", "fails" or "either"; `value`: undefined when any value will do.
    void checkOutcome(const QString &label, const QJsonObject &outcome, const QString &expect, const QStringList &needles, const QJsonValue &value);
    void checkSteps(const QString &phase, bool ran);

    const QString m_row;
    const QJsonObject m_expectation;
    const QJsonObject m_report;
    const QString m_pluginId;
    const bool m_cutShort;
};

void RowCheck::checkFutures()
{
    const QStringList unresolved = strings(m_report.value(QStringLiteral("unresolved")));
    if (!unresolved.isEmpty()) {
        problems.append(QStringLiteral("futures never resolved, even after the plugin unloaded: %1").arg(unresolved.join(QLatin1String(", "))));
    }
}

void RowCheck::checkCanary()
{
    const QJsonObject load = m_report.value(QStringLiteral("canaryLoad")).toObject();
    if (load.value(QStringLiteral("outcome")) != QLatin1String("value")) {
        problems.append(QStringLiteral("the canary did not load: %1").arg(json(load)));
        return;
    }
    for (const QJsonValue &entry : m_report.value(QStringLiteral("canaryPings")).toArray()) {
        const QJsonObject ping = entry.toObject();
        if (ping.value(QStringLiteral("outcome")) != QLatin1String("value") || ping.value(QStringLiteral("value")) != QLatin1String("pong")) {
            problems.append(QStringLiteral("the canary did not answer %1: %2")
                                .arg(ping.value(QStringLiteral("when")).toString(),
                                     ping.contains(QStringLiteral("errorText")) ? shortened(ping.value(QStringLiteral("errorText")).toString())
                                                                                : ping.value(QStringLiteral("outcome")).toString()));
        }
    }
    if (!m_report.contains(QStringLiteral("canaryCheck"))) {
        if (!m_cutShort) {
            problems.append(QStringLiteral("the canary's data was never checked"));
        }
        return;
    }
    const QJsonObject check = m_report.value(QStringLiteral("canaryCheck")).toObject();
    const QJsonObject intact{{QStringLiteral("storage"), canarySecret}, {QStringLiteral("file"), canarySecret}};
    if (check.value(QStringLiteral("value")) != intact) {
        problems.append(QStringLiteral("the canary's storage or data_dir was reached: check() gave %1").arg(json(check)));
    }
    if (!check.value(QStringLiteral("enabled")).toBool()) {
        problems.append(QStringLiteral("the canary was disabled in the profile's registry"));
    }
}

void RowCheck::checkFolderRejected(const QJsonObject &discovery, const QStringList &needles)
{
    const QString folder = discovery.value(QStringLiteral("folder")).toString();
    if (discovery.value(QStringLiteral("found")).toBool()) {
        problems.append(
            QStringLiteral("%1 was discovered as the plugin \"%2\" instead of being rejected").arg(folder, discovery.value(QStringLiteral("id")).toString()));
        return;
    }
    const QStringList reports = strings(discovery.value(QStringLiteral("failures"))) + strings(discovery.value(QStringLiteral("warnings")));
    if (reports.isEmpty()) {
        problems.append(QStringLiteral("%1 was passed over in silence: no failure and no warning names it").arg(folder));
        return;
    }
    for (const QString &needle : needles) {
        if (!reports.join(QLatin1Char('\n')).contains(needle)) {
            problems.append(QStringLiteral("the report of %1 does not say \"%2\": %3").arg(folder, needle, shortened(reports.join(QLatin1Char('\n')))));
        }
    }
}

bool RowCheck::checkDiscovery()
{
    const QJsonObject discovery = m_report.value(QStringLiteral("discovery")).toObject();
    if (m_expectation.value(QStringLiteral("discovery")) == QLatin1String("rejected")) {
        checkFolderRejected(discovery, strings(m_expectation.value(QStringLiteral("discoveryErrorContains"))));
        for (const QJsonValue &sibling : m_report.value(QStringLiteral("siblings")).toArray()) {
            checkFolderRejected(sibling.toObject(), {});
        }
        return discovery.value(QStringLiteral("found")).toBool();
    }
    if (!discovery.value(QStringLiteral("found")).toBool()) {
        problems.append(QStringLiteral("the plugin was not discovered: %1").arg(json(discovery)));
        return false;
    }
    return true;
}

void RowCheck::checkOutcome(const QString &label, const QJsonObject &outcome, const QString &expect, const QStringList &needles, const QJsonValue &value)
{
    const QString result = outcome.value(QStringLiteral("outcome")).toString();
    if (result == QLatin1String("unresolved")) {
        problems.append(QStringLiteral("%1 did not end while the driver waited for it, well past its deadline: the host hangs").arg(label));
        return;
    }
    if (result == QLatin1String("dropped")) {
        problems.append(QStringLiteral("%1 ended cancelled, without an answer naming the plugin, though nobody cancelled it").arg(label));
        return;
    }
    if (result == QLatin1String("error")) {
        const QString text = outcome.value(QStringLiteral("errorText")).toString();
        if (!text.contains(m_pluginId)) {
            problems.append(QStringLiteral("%1: the error does not name the plugin %2: %3").arg(label, m_pluginId, shortened(text)));
        }
        const qint64 length = outcome.value(QStringLiteral("errorLength")).toInteger(text.size());
        if (length > errorTextBound) {
            problems.append(QStringLiteral("%1: an error text of %2 characters, beyond any bound (%3)").arg(label).arg(length).arg(errorTextBound));
        }
        if (expect == QLatin1String("returns")) {
            problems.append(QStringLiteral("%1 failed: %2").arg(label, shortened(text, 2000)));
            return;
        }
        for (const QString &needle : needles) {
            if (!text.contains(needle)) {
                problems.append(QStringLiteral("%1: the error does not say \"%2\": %3").arg(label, needle, shortened(text, 2000)));
            }
        }
        return;
    }
    if (result != QLatin1String("value")) {
        problems.append(QStringLiteral("%1: an outcome the driver cannot have written: %2").arg(label, json(outcome)));
        return;
    }
    if (expect == QLatin1String("fails")) {
        problems.append(QStringLiteral("%1 returned %2 instead of failing%3")
                            .arg(label, json(outcome.value(QStringLiteral("value"))))
                            .arg(needles.isEmpty() ? QString() : QStringLiteral(" with \"%1\"").arg(needles.join(QLatin1String("\", \"")))));
        return;
    }
    if (!value.isUndefined() && (outcome.value(QStringLiteral("value")) != value || outcome.value(QStringLiteral("valueTruncated")).toBool())) {
        problems.append(QStringLiteral("%1 returned %2 instead of %3").arg(label, json(outcome.value(QStringLiteral("value"))), json(value)));
    }
}

void RowCheck::checkSteps(const QString &phase, bool ran)
{
    const QJsonArray expected = m_expectation.value(phase).toArray();
    QHash<qsizetype, QJsonObject> reported;
    for (const QJsonValue &entry : m_report.value(QStringLiteral("steps")).toArray()) {
        if (entry.toObject().value(QStringLiteral("phase")) == phase) {
            reported.insert(entry.toObject().value(QStringLiteral("index")).toInteger(), entry.toObject());
        }
    }
    for (qsizetype index = 0; index < expected.size() && ran; ++index) {
        const QJsonObject step = expected.at(index).toObject();
        if (step.contains(QStringLiteral("broadcast"))) {
            continue;
        }
        const QString label = QStringLiteral("%1%2()").arg(phase == QLatin1String("afterReload") ? QStringLiteral("after the reload, ") : QString(),
                                                           step.value(QStringLiteral("call")).toString());
        if (!reported.contains(index)) {
            if (m_cutShort) {
                break;
            }
            problems.append(QStringLiteral("%1 was never called: the driver stopped before it").arg(label));
            continue;
        }
        checkOutcome(label,
                     reported.value(index),
                     step.value(QStringLiteral("expect")).toString(),
                     strings(step.value(QStringLiteral("errorContains"))),
                     step.value(QStringLiteral("value")));
    }
}

void RowCheck::checkPhases()
{
    const QString load = normalized(m_expectation.value(QStringLiteral("load")).toString(QStringLiteral("loads")));
    const QString reload = normalized(m_expectation.value(QStringLiteral("reload")).toString(load));
    const QString unload = normalized(
        m_expectation.value(QStringLiteral("unload")).toString(load == QLatin1String("returns") ? QStringLiteral("returns") : QStringLiteral("either")));
    const auto ran = [this](const QString &phase) {
        return m_report.value(phase).toObject().value(QStringLiteral("outcome")) == QLatin1String("value");
    };
    const auto check = [this](const QString &phase, const QString &expect, const QStringList &needles) {
        if (!m_report.contains(phase)) {
            if (!m_cutShort) {
                problems.append(QStringLiteral("the %1 never happened: the driver stopped before it").arg(phase));
            }
            return;
        }
        checkOutcome(QStringLiteral("the %1").arg(phase), m_report.value(phase).toObject(), expect, needles, QJsonValue(QJsonValue::Undefined));
    };

    check(QStringLiteral("load"), load, strings(m_expectation.value(QStringLiteral("loadErrorContains"))));
    checkSteps(QStringLiteral("steps"), ran(QStringLiteral("load")));
    check(QStringLiteral("reload"), reload, strings(m_expectation.value(QStringLiteral("loadErrorContains"))));
    checkSteps(QStringLiteral("afterReload"), ran(QStringLiteral("reload")));
    check(QStringLiteral("unload"), unload, {});
}

void RowCheck::checkLog()
{
    const QStringList seen = strings(m_report.value(QStringLiteral("logSeen")));
    for (const QString &needle : strings(m_expectation.value(QStringLiteral("logContains")))) {
        if (!seen.contains(needle)) {
            problems.append(QStringLiteral("nothing logged says \"%1\"").arg(needle));
        }
    }
}

struct HostRun {
    bool finished = false;
    QProcess::ExitStatus exitStatus = QProcess::CrashExit;
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

HostRun runHost(const QStringList &arguments, const QString &workFolder)
{
    HostRun run;
    QProcess process;
    process.setProcessEnvironment(DriverPool::environment(workFolder));
    process.start(QStringLiteral(PLUGINHOST_HOST_BINARY), arguments);
    run.finished = QTest::qWaitFor(
        [&process] {
            return process.state() == QProcess::NotRunning;
        },
        hostTimeoutMs);
    if (!run.finished) {
        process.kill();
        process.waitForFinished();
    }
    run.exitStatus = process.exitStatus();
    run.exitCode = process.exitCode();
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}
} // namespace

class HostileTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void testExpectationsMatchCorpus();
    void testPlugin_data();
    void testPlugin();

private:
    // What the headless host prints on stdout stays valid JSON whatever the plugin writes there.
    void checkHeadless(const QString &row, const QString &pluginId, QStringList *problems);

    QTemporaryDir m_work;
    QJsonObject m_expectations;
    DriverPool *m_pool = nullptr;
};

void HostileTest::initTestCase()
{
    QVERIFY(m_work.isValid());
    QFile file(corpus + QStringLiteral("/expectations.json"));
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
    QJsonParseError error;
    m_expectations = QJsonDocument::fromJson(file.readAll(), &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    m_pool = new DriverPool(corpusRows(), m_work.path(), std::max(2, QThread::idealThreadCount()), this);
}

void HostileTest::cleanupTestCase()
{
    delete m_pool;
    m_pool = nullptr;
}

void HostileTest::testExpectationsMatchCorpus()
{
    const QStringList rows = corpusRows();
    QVERIFY2(rows.size() >= 60, qPrintable(QStringLiteral("only %1 hostile plugins").arg(rows.size())));
    QStringList problems;
    for (const QString &row : rows) {
        if (!m_expectations.contains(row)) {
            problems.append(QStringLiteral("%1 has no entry in expectations.json").arg(row));
        }
        if (!QFile::exists(QStringLiteral("%1/plugins/%2/metadata.json").arg(corpus, row))) {
            problems.append(QStringLiteral("%1 has no metadata.json").arg(row));
        }
    }
    for (auto it = m_expectations.constBegin(); it != m_expectations.constEnd(); ++it) {
        const QJsonObject entry = it.value().toObject();
        if (!rows.contains(it.key())) {
            problems.append(QStringLiteral("expectations.json names %1, which is not in plugins/").arg(it.key()));
        }
        if (entry.value(QStringLiteral("expect")).toString().isEmpty()) {
            problems.append(QStringLiteral("%1: no \"expect\" text saying what the host must do").arg(it.key()));
        }
        for (const QString &key : entry.keys()) {
            if (!rowKeys.contains(key)) {
                problems.append(QStringLiteral("%1: unknown key \"%2\"").arg(it.key(), key));
            }
        }
        for (const QString &phase : {QStringLiteral("steps"), QStringLiteral("afterReload")}) {
            for (const QJsonValue &step : entry.value(phase).toArray()) {
                for (const QString &key : step.toObject().keys()) {
                    if (!stepKeys.contains(key)) {
                        problems.append(QStringLiteral("%1: %2 step with unknown key \"%3\"").arg(it.key(), phase, key));
                    }
                }
                const QString expect = step.toObject().value(QStringLiteral("expect")).toString();
                if (step.toObject().contains(QStringLiteral("call"))
                    && !QStringList{QStringLiteral("returns"), QStringLiteral("fails"), QStringLiteral("either")}.contains(expect)) {
                    problems.append(QStringLiteral("%1: a call expects \"%2\", not returns, fails or either").arg(it.key(), expect));
                }
            }
        }
    }
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
}

void HostileTest::testPlugin_data()
{
    QTest::addColumn<QString>("row");
    for (const QString &row : corpusRows()) {
        QTest::newRow(qPrintable(row)) << row;
    }
}

void HostileTest::testPlugin()
{
    QFETCH(QString, row);
    const QJsonObject expectation = m_expectations.value(row).toObject();
    QVERIFY2(!expectation.isEmpty(), qPrintable(QStringLiteral("%1 has no entry in tests/hostile/expectations.json").arg(row)));
    const DriverRun &run = m_pool->waitFor(row);

    QStringList problems;
    if (!run.startError.isEmpty()) {
        QFAIL(qPrintable(QStringLiteral("hostiledriver did not start: %1").arg(run.startError)));
    }
    if (!run.done || run.hung) {
        problems.append(QStringLiteral("the driver was still running after %1 s and was killed: the host hangs").arg(driverHangBoundSeconds));
    } else if (run.exitStatus == QProcess::CrashExit) {
        problems.append(QStringLiteral("the driver crashed (see its stderr below)"));
    } else if (run.exitCode != 0) {
        problems.append(QStringLiteral("the driver exited with code %1 before its end").arg(run.exitCode));
    }

    QFile resultFile(run.resultFile);
    const QJsonObject report = resultFile.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(resultFile.readAll()).object() : QJsonObject();
    if (report.isEmpty()) {
        problems.append(QStringLiteral("no report: the driver ended before its first step"));
    } else if (report.contains(QStringLiteral("setupError"))) {
        problems.append(QStringLiteral("the driver could not set up: %1").arg(report.value(QStringLiteral("setupError")).toString()));
    } else {
        if (!report.value(QStringLiteral("finished")).toBool() && problems.isEmpty()) {
            problems.append(QStringLiteral("the driver did not get to its end: destroying the PluginManager did not return"));
        }
        RowCheck check(row, expectation, report);
        check.checkFutures();
        check.checkCanary();
        if (check.checkDiscovery()) {
            check.checkPhases();
        }
        check.checkLog();
        problems += check.problems;
        if (expectation.contains(QStringLiteral("headless"))) {
            checkHeadless(row, report.value(QStringLiteral("pluginId")).toString(), &problems);
        }
    }

    if (!problems.isEmpty()) {
        QString message =
            QStringLiteral("%1 (%2):\n  - %3").arg(row, expectation.value(QStringLiteral("expect")).toString(), problems.join(QLatin1String("\n  - ")));
        const QStringList warnings = strings(report.value(QStringLiteral("warnings")));
        if (!warnings.isEmpty()) {
            message += QStringLiteral("\n  warnings logged (first of %1):\n    %2")
                           .arg(warnings.size())
                           .arg(shortened(warnings.mid(0, 8).join(QLatin1String("\n    ")), 3000));
        }
        message += QStringLiteral("\n  end of the driver's stderr:\n%1").arg(run.stderrTail(2000));
        QFAIL(qPrintable(message));
    }
}

void HostileTest::checkHeadless(const QString &row, const QString &pluginId, QStringList *problems)
{
    const QJsonObject headless = m_expectations.value(row).toObject().value(QStringLiteral("headless")).toObject();
    const QString folder = m_work.filePath(row + QStringLiteral("-headless"));
    const QString plugins = folder + QStringLiteral("/plugins");
    if (!copyFolder(QStringLiteral("%1/plugins/%2").arg(corpus, row), plugins + QLatin1Char('/') + row)) {
        problems->append(QStringLiteral("cannot copy the plugin for the headless host into %1").arg(folder));
        return;
    }
    const QStringList common{QStringLiteral("--headless"),
                             QStringLiteral("--plugin-dir"),
                             plugins,
                             QStringLiteral("--profile"),
                             folder + QStringLiteral("/profile")};
    const auto describe = [](const QString &what, const HostRun &run) {
        return QStringLiteral("%1: %2, exit code %3\n    stdout: %4\n    stderr: %5")
            .arg(what, run.finished ? QStringLiteral("ended") : QStringLiteral("did not end within a minute"))
            .arg(run.exitCode)
            .arg(shortened(QString::fromUtf8(run.out), 400), shortened(QString::fromUtf8(run.err), 800));
    };

    const HostRun list = runHost(common + QStringList{QStringLiteral("--list")}, folder);
    QJsonParseError error;
    const QJsonArray listed = QJsonDocument::fromJson(list.out, &error).array();
    const bool found = std::any_of(listed.begin(), listed.end(), [&pluginId](const QJsonValue &entry) {
        return entry.toObject().value(QStringLiteral("id")) == pluginId;
    });
    if (!list.finished || list.exitStatus != QProcess::NormalExit || list.exitCode != 0 || error.error != QJsonParseError::NoError || !found) {
        problems->append(describe(QStringLiteral("pluginhost --headless --list does not print the JSON list with the plugin"), list));
    }

    const QString function = headless.value(QStringLiteral("call")).toString();
    const HostRun call =
        runHost(common + QStringList{QStringLiteral("--call"), pluginId, function, QStringLiteral("--timeout"), QStringLiteral("10000")}, folder);
    const QJsonArray printed = QJsonDocument::fromJson("[" + call.out + "]", &error).array();
    if (!call.finished || call.exitStatus != QProcess::NormalExit || call.exitCode != 0 || error.error != QJsonParseError::NoError || printed.size() != 1
        || printed.at(0) != headless.value(QStringLiteral("value"))) {
        problems->append(
            describe(QStringLiteral("pluginhost --headless --call %1 does not print just %2").arg(function, json(headless.value(QStringLiteral("value")))),
                     call));
    }
}

QTEST_GUILESS_MAIN(HostileTest)
#include "hostiletest.moc"
