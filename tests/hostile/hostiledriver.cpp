// hostiledriver: the child process of hostiletest. It runs one plugin of the hostile corpus
// beside the canary, the way an application would, and writes what happened as JSON to a result
// file, never to stdout or stderr, which the plugin may write to or close. It judges nothing:
// hostiletest compares the result with expectations.json.
//
//     hostiledriver <plugin folder> <canary folder> <expectations.json> <work folder> <result file>
//
// The run: discover both plugins (the canary's search path first), load the canary, load the
// hostile plugin, make the calls and broadcasts its expectation lists, describe its exports,
// reload it, make the calls listed for after the reload, unload it, then ask the canary whether
// its data is intact. The canary is called while each of these is under way, and after. Every
// wait is bounded far beyond the deadlines it waits for, so that a host that hangs still gets a
// report saying where; the result file is rewritten after each step.
#include "hostilecorpus.h"

#include <PluginHost/Plugin>
#include <PluginHost/PluginManager>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QEventLoop>
#include <QFutureWatcher>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMetaEnum>
#include <QMutex>
#include <QSaveFile>
#include <QSet>
#include <QTimer>

#include <chrono>
#include <cmath>
#include <csignal>
#include <functional>
#include <utility>
#include <vector>

using namespace PluginHost;
using namespace std::chrono_literals;

namespace
{
// Short deadlines keep a row fast; hostiletest asserts outcomes, never durations. A call whose
// outcome is checked (it must return, or fail with a given error) gets a generous deadline: it
// only catches a plugin that stopped answering. So do loading (it imports the plugin's modules)
// and the unload steps, which may run Python that is slow on a busy machine.
constexpr std::chrono::milliseconds callTimeout = 500ms;
constexpr std::chrono::milliseconds checkedCallTimeout = 10s;
constexpr std::chrono::milliseconds loadTimeout = 5s;
constexpr UnloadTimeouts unloadTimeouts{1s, 1s, 500ms};
// The canary has nothing to wait for but the host: its deadline only catches a host that stalls it.
constexpr std::chrono::milliseconds canaryTimeout = 10s;
// Hang detectors, not timings: beyond every deadline above. The steps up to the unload
// share a budget; the unload and the canary's last answers get a whole wait each, so that the
// driver always gets to the end of its report (hostiletest's own bound is above the sum).
constexpr std::chrono::milliseconds waitBound = 15s;
constexpr std::chrono::milliseconds waitBeyondDeadline = 5s;
constexpr std::chrono::milliseconds stepsBudget = 40s;
constexpr std::chrono::milliseconds describeWait = 5s;

// What the report keeps of a value and of an error text: enough to compare and to read.
constexpr qsizetype valueBudget = 64 * 1024;
constexpr int valueDepth = 64;
constexpr qsizetype errorTextKept = 1024 * 1024 + 1; // hostiletest's bound, plus one to see it passed
constexpr int warningsKept = 200;

// Loading has a deadline of its own where the SDK offers one (PluginManager::setLoadTimeout()).
template<typename Manager>
void setLoadTimeout(Manager &manager, std::chrono::milliseconds timeout)
{
    if constexpr (requires { manager.setLoadTimeout(timeout); }) {
        manager.setLoadTimeout(timeout);
    }
}

// The log of the whole process: which of the expected lines appeared, and the first warnings.
struct LogRecord {
    QMutex mutex;
    QStringList needles;
    QSet<QString> seen;
    QStringList warnings;
    int warningsDropped = 0;
    QtMessageHandler previous = nullptr;
};

// Never destroyed: threads of quarantined plugins may still log while the process exits.
LogRecord &logRecord()
{
    static LogRecord *const record = new LogRecord;
    return *record;
}

void recordLog(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    LogRecord &record = logRecord();
    {
        const QString line = QStringLiteral("%1: %2").arg(QString::fromUtf8(context.category ? context.category : "default"), message);
        QMutexLocker lock(&record.mutex);
        for (const QString &needle : std::as_const(record.needles)) {
            if (line.contains(needle)) {
                record.seen.insert(needle);
            }
        }
        if (type == QtWarningMsg || type == QtCriticalMsg || type == QtFatalMsg) {
            if (record.warnings.size() < warningsKept) {
                record.warnings.append(line.left(4096));
            } else {
                ++record.warningsDropped;
            }
        }
    }
    record.previous(type, context, message);
}

QString bounded(const QString &text)
{
    return text.size() <= errorTextKept ? text : text.left(errorTextKept);
}

// A value as JSON for the report, cut at valueBudget characters and valueDepth levels; never
// recursing deeper than that, whatever the plugin returned.
class ValueWriter
{
public:
    QJsonValue write(const QVariant &value, int depth = 0)
    {
        if (depth > valueDepth || m_budget <= 0) {
            m_truncated = true;
            return QStringLiteral("…");
        }
        m_budget -= 8;
        switch (value.typeId()) {
        case QMetaType::UnknownType:
            return QJsonValue::Null;
        case QMetaType::Bool:
            return value.toBool();
        case QMetaType::Int:
        case QMetaType::UInt:
        case QMetaType::LongLong:
        case QMetaType::ULongLong:
            return value.toLongLong();
        case QMetaType::Double: {
            const double number = value.toDouble();
            if (std::isfinite(number)) {
                return number;
            }
            return std::isnan(number) ? QStringLiteral("nan") : number > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
        }
        case QMetaType::QString:
            return text(value.toString());
        case QMetaType::QByteArray:
            return text(QString::fromUtf8(value.toByteArray().left(m_budget + 1)));
        case QMetaType::QVariantList: {
            QJsonArray array;
            for (const QVariant &item : value.toList()) {
                if (m_budget <= 0) {
                    m_truncated = true;
                    break;
                }
                array.append(write(item, depth + 1));
            }
            return array;
        }
        case QMetaType::QVariantMap: {
            QJsonObject object;
            const QVariantMap map = value.toMap();
            for (auto it = map.cbegin(); it != map.cend(); ++it) {
                if (m_budget <= 0) {
                    m_truncated = true;
                    break;
                }
                object.insert(it.key().left(256), write(it.value(), depth + 1));
            }
            return object;
        }
        default:
            return text(QStringLiteral("<%1>").arg(QString::fromLatin1(value.typeName())));
        }
    }

    bool truncated() const
    {
        return m_truncated;
    }

private:
    QJsonValue text(const QString &string)
    {
        if (string.size() > m_budget) {
            m_truncated = true;
        }
        const QString kept = string.left(std::max<qsizetype>(m_budget, 0));
        m_budget -= string.size();
        return kept;
    }

    qsizetype m_budget = valueBudget;
    bool m_truncated = false;
};

void describeError(QJsonObject *outcome, const PluginError &error)
{
    const QString text = error.errorText();
    outcome->insert(QStringLiteral("outcome"), QStringLiteral("error"));
    outcome->insert(QStringLiteral("kind"), QString::fromLatin1(QMetaEnum::fromType<PluginError::Kind>().valueToKey(int(error.kind()))));
    outcome->insert(QStringLiteral("errorText"), bounded(text));
    outcome->insert(QStringLiteral("errorLength"), text.size());
}

void describeValue(QJsonObject *outcome, const QVariant &value)
{
    ValueWriter writer;
    outcome->insert(QStringLiteral("outcome"), QStringLiteral("value"));
    outcome->insert(QStringLiteral("value"), writer.write(value));
    if (writer.truncated()) {
        outcome->insert(QStringLiteral("valueTruncated"), true);
    }
}

// "unresolved" (not finished), "dropped" (finished without an answer: cancelled, though nobody
// here cancels), "value" or "error".
QJsonObject outcomeOf(const QFuture<QVariant> &future)
{
    QJsonObject outcome;
    if (!future.isFinished()) {
        outcome.insert(QStringLiteral("outcome"), QStringLiteral("unresolved"));
        return outcome;
    }
    try {
        QFuture<QVariant>(future).waitForFinished(); // finished: throws what failed it
        if (future.resultCount() == 0) {
            outcome.insert(QStringLiteral("outcome"), QStringLiteral("dropped"));
        } else {
            describeValue(&outcome, future.result());
        }
    } catch (const CallError &failure) {
        describeError(&outcome, failure.error());
    } catch (...) {
        outcome.insert(QStringLiteral("outcome"), QStringLiteral("error"));
        outcome.insert(QStringLiteral("errorText"), QStringLiteral("the future failed with an exception that is not a PluginHost::CallError"));
    }
    return outcome;
}

QJsonObject outcomeOf(const QFuture<CallResult> &future)
{
    QJsonObject outcome;
    if (!future.isFinished()) {
        outcome.insert(QStringLiteral("outcome"), QStringLiteral("unresolved"));
        return outcome;
    }
    try {
        QFuture<CallResult>(future).waitForFinished();
        if (future.resultCount() == 0) {
            outcome.insert(QStringLiteral("outcome"), QStringLiteral("dropped"));
        } else if (const CallResult result = future.result(); result) {
            describeValue(&outcome, result.value());
        } else {
            describeError(&outcome, result.error());
        }
    } catch (...) {
        outcome.insert(QStringLiteral("outcome"), QStringLiteral("error"));
        outcome.insert(QStringLiteral("errorText"), QStringLiteral("the future failed with an exception"));
    }
    return outcome;
}

QString canonical(const QString &path)
{
    const QString resolved = QFileInfo(path).canonicalFilePath();
    return resolved.isEmpty() ? QDir::cleanPath(QFileInfo(path).absoluteFilePath()) : resolved;
}

// Sets `path` (keys joined by dots) in `object`, making the objects on the way.
QJsonObject withValue(QJsonObject object, QStringList path, const QJsonValue &value)
{
    const QString key = path.takeFirst();
    object.insert(key, path.isEmpty() ? value : withValue(object.value(key).toObject(), path, value));
    return object;
}

class HostileRun
{
public:
    HostileRun(const QStringList &arguments)
        : m_corpusFolder(arguments.at(1))
        , m_canaryFolder(arguments.at(2))
        , m_work(arguments.at(4))
        , m_resultFile(arguments.at(5))
        , m_row(QFileInfo(m_corpusFolder).fileName())
    {
        QFile file(arguments.at(3));
        if (file.open(QIODevice::ReadOnly)) {
            m_expectation = QJsonDocument::fromJson(file.readAll()).object().value(m_row).toObject();
        }
        m_report.insert(QStringLiteral("row"), m_row);
        m_report.insert(QStringLiteral("finished"), false);
    }

    int run();

private:
    bool prepare(QString *error);
    bool inflate(const QString &folder, QString *error) const;
    Plugin *pluginIn(const QString &folder) const;
    QJsonObject discoveryOf(const QString &folder, const QStringList &warnings) const;

    template<typename T>
    void track(const QString &label, const QFuture<T> &future)
    {
        m_tracked.emplace_back(label, [future] {
            return future.isFinished();
        });
    }
    template<typename T>
    bool settle(const QFuture<T> &future, std::chrono::milliseconds bound = waitBound);
    // settle() within what is left of the steps' budget, and when the hostile plugin's future
    // does not settle, stop before the next step.
    template<typename T>
    void settleHostile(const QFuture<T> &future, std::chrono::milliseconds wanted = waitBound)
    {
        const std::chrono::milliseconds left(std::max<qint64>(m_budget.remainingTime(), 0));
        if (!settle(future, m_tearingDown ? wanted : std::min(wanted, left))) {
            m_stalled = true;
            m_report.insert(QStringLiteral("stalled"), true);
        }
    }

    bool phase(const QString &name, const QFuture<CallResult> &future);
    void runSteps(const QString &phaseName);
    void pingCanary(const QString &when);
    void checkCanary();
    void writeReport();

    const QString m_corpusFolder;
    const QString m_canaryFolder;
    const QString m_work;
    const QString m_resultFile;
    const QString m_row;
    QJsonObject m_expectation;
    QString m_pluginCopy;
    QString m_canaryCopy;
    QStringList m_siblingCopies;

    PluginManager *m_manager = nullptr;
    Plugin *m_canary = nullptr;
    Plugin *m_hostile = nullptr;
    QDeadlineTimer m_budget{stepsBudget};
    bool m_tearingDown = false; // the unload and after: outside the steps' budget
    bool m_stalled = false;
    std::vector<std::pair<QString, std::function<bool()>>> m_tracked;

    QJsonObject m_report;
    QJsonArray m_steps;
    QJsonArray m_canaryPings;
};

bool HostileRun::prepare(QString *error)
{
    // The canary's search path comes first: a hostile folder claiming its id is the one shadowed.
    m_canaryCopy = QDir(m_work).filePath(QStringLiteral("canary-path/canary"));
    m_pluginCopy = QDir(m_work).filePath(QStringLiteral("plugin-path/") + m_row);
    if (!Hostile::copyFolder(m_canaryFolder, m_canaryCopy) || !Hostile::copyFolder(m_corpusFolder, m_pluginCopy)) {
        *error = QStringLiteral("could not copy the plugins into %1").arg(m_work);
        return false;
    }
    for (const QJsonValue &sibling : m_expectation.value(QStringLiteral("siblings")).toArray()) {
        const QString copy = QDir(m_work).filePath(QStringLiteral("plugin-path/%1-%2").arg(m_row, sibling.toString()));
        if (!Hostile::copyFolder(QDir(m_corpusFolder).filePath(sibling.toString()), copy)) {
            *error = QStringLiteral("could not copy %1 of %2").arg(sibling.toString(), m_row);
            return false;
        }
        m_siblingCopies.append(copy);
    }
    return inflate(m_pluginCopy, error);
}

// The metadata attacks too big to keep in the repository are made big in the copy.
bool HostileRun::inflate(const QString &folder, QString *error) const
{
    QFile file(QDir(folder).filePath(QStringLiteral("metadata.json")));
    const QJsonObject text = m_expectation.value(QStringLiteral("metadataText")).toObject();
    const QJsonArray keys = m_expectation.value(QStringLiteral("inflate")).toArray();
    if (text.isEmpty() && keys.isEmpty()) {
        return true;
    }
    QByteArray contents = text.value(QStringLiteral("repeat")).toString().toUtf8().repeated(text.value(QStringLiteral("count")).toInt());
    if (!keys.isEmpty()) {
        if (!file.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read %1").arg(file.fileName());
            return false;
        }
        QJsonObject metadata = QJsonDocument::fromJson(file.readAll()).object();
        file.close();
        for (const QJsonValue &key : keys) {
            const QJsonObject inflation = key.toObject();
            const QString value = inflation.value(QStringLiteral("prefix")).toString()
                + inflation.value(QStringLiteral("repeat")).toString().repeated(inflation.value(QStringLiteral("count")).toInt());
            metadata = withValue(metadata, inflation.value(QStringLiteral("key")).toString().split(QLatin1Char('.')), value);
        }
        contents = QJsonDocument(metadata).toJson();
    }
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(contents) != contents.size()) {
        *error = QStringLiteral("cannot write %1").arg(file.fileName());
        return false;
    }
    return true;
}

Plugin *HostileRun::pluginIn(const QString &folder) const
{
    const QString wanted = canonical(folder);
    for (Plugin *plugin : m_manager->plugins()) {
        if (canonical(plugin->metaData().directory()) == wanted) {
            return plugin;
        }
    }
    return nullptr;
}

// Whether discover() made a plugin of `folder`, and what it said about the folder otherwise.
QJsonObject HostileRun::discoveryOf(const QString &folder, const QStringList &warnings) const
{
    const QString wanted = canonical(folder);
    QJsonArray failures;
    for (const PluginMetaData::Failure &failure : m_manager->failures()) {
        if (canonical(failure.directory) == wanted) {
            failures.append(bounded(failure.errorText));
        }
    }
    QJsonArray mentions;
    for (const QString &warning : warnings) {
        if (warning.contains(folder) || warning.contains(wanted)) {
            mentions.append(warning);
        }
    }
    const Plugin *plugin = pluginIn(folder);
    return {
        {QStringLiteral("folder"), folder},
        {QStringLiteral("found"), plugin != nullptr},
        {QStringLiteral("id"), plugin ? QJsonValue(plugin->id()) : QJsonValue()},
        {QStringLiteral("failures"), failures},
        {QStringLiteral("warnings"), mentions},
    };
}

template<typename T>
bool HostileRun::settle(const QFuture<T> &future, std::chrono::milliseconds bound)
{
    if (!future.isFinished() && bound.count() > 0) {
        QEventLoop loop;
        QFutureWatcher<T> watcher;
        QObject::connect(&watcher, &QFutureWatcherBase::finished, &loop, &QEventLoop::quit);
        QTimer::singleShot(bound, &loop, &QEventLoop::quit);
        watcher.setFuture(future);
        if (!future.isFinished()) {
            loop.exec();
        }
    }
    return future.isFinished();
}

// Load, reload or unload of the hostile plugin, with the canary called while it is under way.
bool HostileRun::phase(const QString &name, const QFuture<CallResult> &future)
{
    track(name, future);
    pingCanary(QStringLiteral("during the %1").arg(name));
    settleHostile(future);
    const QJsonObject outcome = outcomeOf(future);
    m_report.insert(name, outcome);
    writeReport();
    return outcome.value(QStringLiteral("outcome")) == QLatin1String("value");
}

void HostileRun::runSteps(const QString &phaseName)
{
    const QJsonArray steps = m_expectation.value(phaseName).toArray();
    for (qsizetype index = 0; index < steps.size() && !m_stalled; ++index) {
        const QJsonObject step = steps.at(index).toObject();
        QJsonObject entry{{QStringLiteral("phase"), phaseName}, {QStringLiteral("index"), index}};
        if (step.contains(QStringLiteral("broadcast"))) {
            const QString event = step.value(QStringLiteral("broadcast")).toString();
            m_manager->broadcast(event, step.value(QStringLiteral("payload")).toVariant());
            entry.insert(QStringLiteral("label"), QStringLiteral("broadcast %1").arg(event));
            entry.insert(QStringLiteral("outcome"), QStringLiteral("broadcast"));
            pingCanary(QStringLiteral("after broadcasting %1").arg(event));
        } else {
            const QString function = step.value(QStringLiteral("call")).toString();
            CallOptions options;
            if (step.contains(QStringLiteral("timeoutMs"))) {
                options.timeout = std::chrono::milliseconds(step.value(QStringLiteral("timeoutMs")).toInt());
            } else {
                const bool checked = step.value(QStringLiteral("expect")) == QLatin1String("returns") || step.contains(QStringLiteral("errorContains"));
                options.timeout = checked ? checkedCallTimeout : callTimeout;
            }
            const QString label = QStringLiteral("%1()").arg(function);
            const QFuture<QVariant> future = m_hostile->call(function, step.value(QStringLiteral("args")).toArray().toVariantList(), options);
            track(QStringLiteral("%1 (%2 %3)").arg(label, phaseName).arg(index), future);
            pingCanary(QStringLiteral("during %1").arg(label));
            settleHostile(future, std::max(waitBound, options.timeout + waitBeyondDeadline));
            entry.insert(QStringLiteral("label"), label);
            const QJsonObject outcome = outcomeOf(future);
            for (auto it = outcome.begin(); it != outcome.end(); ++it) {
                entry.insert(it.key(), it.value());
            }
        }
        m_steps.append(entry);
        m_report.insert(QStringLiteral("steps"), m_steps);
        writeReport();
    }
}

void HostileRun::pingCanary(const QString &when)
{
    CallOptions options;
    options.timeout = canaryTimeout;
    const QFuture<QVariant> ping = m_canary->call(QStringLiteral("ping"), {}, options);
    track(QStringLiteral("canary ping %1").arg(when), ping);
    settle(ping);
    QJsonObject outcome = outcomeOf(ping);
    outcome.insert(QStringLiteral("when"), when);
    m_canaryPings.append(outcome);
    m_report.insert(QStringLiteral("canaryPings"), m_canaryPings);
}

// What the hostile neighbour must not have reached: the canary's storage, its data_dir, its
// registry entry.
void HostileRun::checkCanary()
{
    CallOptions options;
    options.timeout = canaryTimeout;
    const QFuture<QVariant> check = m_canary->call(QStringLiteral("check"), {}, options);
    track(QStringLiteral("canary check"), check);
    settle(check);
    QJsonObject outcome = outcomeOf(check);
    outcome.insert(QStringLiteral("enabled"), m_canary->isEnabled());
    m_report.insert(QStringLiteral("canaryCheck"), outcome);
}

void HostileRun::writeReport()
{
    {
        LogRecord &record = logRecord();
        QMutexLocker lock(&record.mutex);
        m_report.insert(QStringLiteral("logSeen"), QJsonArray::fromStringList(QStringList(record.seen.cbegin(), record.seen.cend())));
        m_report.insert(QStringLiteral("warnings"), QJsonArray::fromStringList(record.warnings));
        m_report.insert(QStringLiteral("warningsDropped"), record.warningsDropped);
    }
    QSaveFile file(m_resultFile);
    if (file.open(QIODevice::WriteOnly)) {
        file.write(QJsonDocument(m_report).toJson());
        file.commit();
    }
}

int HostileRun::run()
{
    {
        LogRecord &record = logRecord();
        for (const QJsonValue &needle : m_expectation.value(QStringLiteral("logContains")).toArray()) {
            record.needles.append(needle.toString());
        }
        record.previous = qInstallMessageHandler(recordLog);
    }
    QString setupError;
    if (m_expectation.isEmpty()) {
        setupError = QStringLiteral("no entry for %1 in expectations.json").arg(m_row);
    } else {
        prepare(&setupError);
    }
    if (!setupError.isEmpty()) {
        m_report.insert(QStringLiteral("setupError"), setupError);
        writeReport();
        return 2;
    }

    m_manager = new PluginManager;
    m_manager->setSearchPaths({QFileInfo(m_canaryCopy).path(), QFileInfo(m_pluginCopy).path()});
    m_manager->setProfileDirectory(QDir(m_work).filePath(QStringLiteral("profile")));
    m_manager->setDataLocation(QDir(m_work).filePath(QStringLiteral("profile/data")));
    m_manager->setUnloadTimeouts(unloadTimeouts);
    setLoadTimeout(*m_manager, loadTimeout);
    m_manager->discover();

    QStringList discoveryWarnings;
    {
        LogRecord &record = logRecord();
        QMutexLocker lock(&record.mutex);
        discoveryWarnings = record.warnings;
    }
    m_report.insert(QStringLiteral("discovery"), discoveryOf(m_pluginCopy, discoveryWarnings));
    QJsonArray siblings;
    for (const QString &sibling : std::as_const(m_siblingCopies)) {
        siblings.append(discoveryOf(sibling, discoveryWarnings));
    }
    m_report.insert(QStringLiteral("siblings"), siblings);

    m_canary = pluginIn(m_canaryCopy);
    if (!m_canary) {
        m_report.insert(QStringLiteral("setupError"), QStringLiteral("the canary was not discovered in %1").arg(m_canaryCopy));
        writeReport();
        delete m_manager;
        return 2;
    }
    const QFuture<CallResult> canaryLoad = m_canary->load();
    track(QStringLiteral("canary load"), canaryLoad);
    settle(canaryLoad);
    m_report.insert(QStringLiteral("canaryLoad"), outcomeOf(canaryLoad));
    writeReport();

    m_hostile = pluginIn(m_pluginCopy);
    if (m_hostile) {
        m_report.insert(QStringLiteral("pluginId"), m_hostile->id());
        if (phase(QStringLiteral("load"), m_hostile->load()) && !m_stalled) {
            runSteps(QStringLiteral("steps"));
            // Describing runs the plugin's code too (inspect.signature). It has no deadline: it is
            // given a while to end before the reload, and must have ended once the plugin unloaded.
            const QFuture<QVariantList> description = m_hostile->describeExports();
            track(QStringLiteral("describeExports()"), description);
            settle(description, describeWait);
        }
        if (!m_stalled && phase(QStringLiteral("reload"), m_hostile->reload()) && !m_stalled) {
            runSteps(QStringLiteral("afterReload"));
        }
        m_tearingDown = true;
        phase(QStringLiteral("unload"), m_hostile->unload());
    }
    m_tearingDown = true;
    pingCanary(QStringLiteral("after the hostile plugin unloaded"));
    checkCanary();

    QJsonArray unresolved;
    for (const auto &[label, finished] : m_tracked) {
        if (!finished()) {
            unresolved.append(label);
        }
    }
    m_report.insert(QStringLiteral("futures"), qint64(m_tracked.size()));
    m_report.insert(QStringLiteral("unresolved"), unresolved);
    QJsonArray quarantined;
    for (const QuarantinedPlugin &plugin : m_manager->quarantinedPlugins()) {
        quarantined.append(QStringLiteral("%1: %2").arg(plugin.pluginId, plugin.reason));
    }
    m_report.insert(QStringLiteral("quarantined"), quarantined);
    writeReport();

    delete m_manager;
    m_manager = nullptr;
    m_report.insert(QStringLiteral("finished"), true);
    writeReport();
    return 0;
}
} // namespace

int main(int argc, char **argv)
{
    // An ordinary application's disposition: a SIGPIPE ignored by whoever started this process
    // must not hide a host that leaves it at its default.
    std::signal(SIGPIPE, SIG_DFL);
    QCoreApplication application(argc, argv);
    const QStringList arguments = QCoreApplication::arguments();
    if (arguments.size() != 6) {
        qCritical("usage: hostiledriver <plugin folder> <canary folder> <expectations.json> <work folder> <result file>");
        return 2;
    }
    HostileRun run(arguments);
    return run.run();
}
