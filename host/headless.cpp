#include "headless.h"
#include "jsonvalues.h"

#include <PluginHost/PluginManager>

#include <QCoreApplication>
#include <QFutureWatcher>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QMetaEnum>
#include <QTimer>

#include <cstdio>

using namespace PluginHost;

namespace
{
// Runs `handler(future)` on the context's thread once `future` finished, unless the context is
// gone by then. A watcher, not future.then(context, …): with Qt 6.4 a continuation chained to
// one still queued for a context being destroyed asserts (the calls of a host that exits
// with a plugin stuck end while the host goes away).
template<typename T, typename Handler>
void whenFinished(QObject *context, const QFuture<T> &future, Handler handler)
{
    auto *watcher = new QFutureWatcher<T>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, context, [watcher, handler = std::move(handler)] {
        handler(watcher->future());
        watcher->deleteLater();
    });
    watcher->setFuture(future);
}

// How long --timeout waits for the stack snapshot of a plugin that may be blocked in C.
constexpr std::chrono::milliseconds snapshotWait{250};
// Once the deadline passed, unloading the plugin on the way out quarantines it quickly.
constexpr UnloadTimeouts unloadTimeoutsAfterDeadline{std::chrono::milliseconds(1000), std::chrono::milliseconds(1000), std::chrono::milliseconds(500)};

QString stateName(Plugin::State state)
{
    return QString::fromLatin1(QMetaEnum::fromType<Plugin::State>().valueToKey(int(state))).toLower();
}

// Errors and the log share stderr. A NUL (an id can hold one) is shown, not written: it would
// end the message for Qt's own handler and for most readers of the log.
void printError(const QString &text)
{
    QString shown = text;
    const QByteArray utf8 = shown.replace(QChar(0), QLatin1String("\\0")).toUtf8() + '\n';
    std::fwrite(utf8.constData(), 1, size_t(utf8.size()), stderr);
    std::fflush(stderr);
}

void writeLogMessage(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const QString formatted = qFormatLogMessage(type, context, message);
    if (!formatted.isNull()) { // QT_MESSAGE_PATTERN may leave a message out
        printError(formatted);
    }
}
} // namespace

HeadlessHost::HeadlessHost(PluginManager *manager, int outputDescriptor, QObject *parent)
    : QObject(parent)
    , m_manager(manager)
{
    // Unbuffered: a result is one write, done before the host exits whatever happens next.
    m_output.open(outputDescriptor, QIODevice::WriteOnly | QIODevice::Unbuffered, QFileDevice::AutoCloseHandle);
}

void HeadlessHost::routeLogToStandardError()
{
    qInstallMessageHandler(writeLogMessage);
}

bool HeadlessHost::printResult(const QByteArray &json)
{
    if (m_output.write(json) == json.size()) {
        return true;
    }
    printError(QStringLiteral("pluginhost: could not write the result to standard output: %1").arg(m_output.errorString()));
    return false;
}

void HeadlessHost::start(const QCommandLineParser &parser)
{
    if (!changeRegistry(parser.values(QStringLiteral("enable")), true) || !changeRegistry(parser.values(QStringLiteral("disable")), false)) {
        finish(1);
        return;
    }
    if (!parser.isSet(QStringLiteral("list")) && !parser.isSet(QStringLiteral("call"))) {
        finish(0);
        return;
    }
    if (parser.isSet(QStringLiteral("call"))) {
        call(parser.value(QStringLiteral("call")), parser.positionalArguments().value(0), parser.value(QStringLiteral("args")));
    } else {
        list();
    }
}

bool HeadlessHost::changeRegistry(const QStringList &pluginIds, bool enabled)
{
    for (const QString &pluginId : pluginIds) {
        Plugin *plugin = m_manager->plugin(pluginId);
        if (!plugin) {
            printError(QStringLiteral("pluginhost: no plugin with id '%1' in %2").arg(pluginId, m_manager->searchPaths().join(QLatin1String(", "))));
            return false;
        }
        if (const PluginError error = plugin->setEnabled(enabled); error.isError()) {
            printError(QStringLiteral("pluginhost: could not %1 %2: %3").arg(enabled ? QStringLiteral("enable") : QStringLiteral("disable"), pluginId, error.message()));
            return false;
        }
    }
    return true;
}

void HeadlessHost::list()
{
    whenFinished(this, m_manager->loadAll(), [this](const QFuture<void> &) {
        QJsonArray plugins;
        for (Plugin *plugin : m_manager->plugins()) {
            const PluginMetaData metaData = plugin->metaData();
            const PluginError error = plugin->lastError();
            const qint64 interpreter = plugin->interpreterId();
            const PluginRecord record = plugin->record();
            plugins.append(QJsonObject{
                {QStringLiteral("id"), plugin->id()},
                {QStringLiteral("name"), metaData.name()},
                {QStringLiteral("version"), metaData.version()},
                {QStringLiteral("directory"), metaData.directory()},
                {QStringLiteral("state"), stateName(plugin->state())},
                {QStringLiteral("interpreter"), interpreter >= 0 ? QJsonValue(interpreter) : QJsonValue()},
                {QStringLiteral("gil"),
                 interpreter < 0                 ? QJsonValue()
                     : plugin->gil() == Plugin::Gil::Own ? QJsonValue(QStringLiteral("own"))
                                                         : QJsonValue(QStringLiteral("shared"))},
                {QStringLiteral("error"), error.isError() ? QJsonValue(error.errorText()) : QJsonValue()},
                {QStringLiteral("enabled"), plugin->isEnabled()},
                {QStringLiteral("last_error"), record.lastError.isEmpty() ? QJsonValue() : QJsonValue(record.lastError)},
            });
        }
        for (const PluginMetaData::Failure &failure : m_manager->failures()) {
            plugins.append(QJsonObject{
                {QStringLiteral("id"), QJsonValue()},
                {QStringLiteral("name"), QJsonValue()},
                {QStringLiteral("version"), QJsonValue()},
                {QStringLiteral("directory"), failure.directory},
                {QStringLiteral("state"), QStringLiteral("invalid")},
                {QStringLiteral("interpreter"), QJsonValue()},
                {QStringLiteral("gil"), QJsonValue()},
                {QStringLiteral("error"), failure.errorText},
                {QStringLiteral("enabled"), false},
                {QStringLiteral("last_error"), QJsonValue()},
            });
        }
        finish(printResult(QJsonDocument(plugins).toJson(QJsonDocument::Indented)) ? 0 : 1);
    });
}

void HeadlessHost::call(const QString &pluginId, const QString &function, const QString &argumentsJson)
{
    QVariantList arguments;
    if (!argumentsJson.isEmpty()) {
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(argumentsJson.toUtf8(), &parseError);
        if (parseError.error != QJsonParseError::NoError || !document.isArray()) {
            printError(QStringLiteral("pluginhost: --args must be a JSON array, e.g. --args '[1, \"two\"]' (%1 at offset %2)")
                           .arg(parseError.error != QJsonParseError::NoError ? parseError.errorString() : QStringLiteral("not an array"))
                           .arg(parseError.offset));
            finish(1);
            return;
        }
        QVariant converted;
        QString error;
        if (!JsonValues::fromJson(document.array(), QStringLiteral("args"), &converted, &error)) {
            printError(QStringLiteral("pluginhost: --args: %1").arg(error));
            finish(1);
            return;
        }
        arguments = converted.toList();
    }

    Plugin *plugin = m_manager->plugin(pluginId);
    if (!plugin) {
        QStringList known;
        for (Plugin *candidate : m_manager->plugins()) {
            known.append(candidate->id());
        }
        printError(QStringLiteral("pluginhost: no plugin with id '%1' in %2; found: %3")
                       .arg(pluginId,
                            m_manager->searchPaths().join(QLatin1String(", ")),
                            known.isEmpty() ? QStringLiteral("(none)") : known.join(QLatin1String(", "))));
        for (const PluginMetaData::Failure &failure : m_manager->failures()) {
            printError(QStringLiteral("  not loadable: %1").arg(failure.errorText));
        }
        finish(1);
        return;
    }

    plugin->load();
    CallOptions options;
    if (m_timeout.count() > 0) {
        // This host's own timer takes the stack snapshot while the code still runs; the call's
        // deadline, a little later, only backs it up.
        options.timeout = m_timeout + snapshotWait + std::chrono::seconds(2);
        QTimer::singleShot(m_timeout, this, [this, plugin, function] {
            timedOut(plugin, function);
        });
    }
    // Calls made while loading wait for the load; a failed load fails the call with its error.
    m_call = plugin->call(function, arguments, options);
    whenFinished(this, m_call, [this, plugin, function](const QFuture<QVariant> &future) {
        if (m_timedOut) {
            return;
        }
        const CallResult result = CallResult::fromFuture(future);
        if (!result) {
            if (plugin->state() == Plugin::State::Failed) {
                loadFailed(plugin, function);
                return;
            }
            printError(result.error().errorText());
            finish(result.error().kind() == PluginError::Kind::TimedOut ? 2 : 1);
            return;
        }
        const QJsonValue json = JsonValues::toJson(result.value());
        finish(printResult(QJsonDocument(QJsonArray{json}).toJson(QJsonDocument::Compact).mid(1).chopped(1) + '\n') ? 0 : 1);
    });
}

void HeadlessHost::loadFailed(Plugin *plugin, const QString &function)
{
    // The SDK logs a failed load with its whole text (category pluginhost.plugins), and the log
    // is on stderr: repeat the text only when that log is turned off.
    static const QLoggingCategory loadLog("pluginhost.plugins");
    QString text = QStringLiteral("pluginhost: %1() of %2 was not called: the plugin failed to load").arg(function, plugin->id());
    if (loadLog.isWarningEnabled()) {
        text += QStringLiteral(" (its error is above)");
    } else {
        text += QStringLiteral(": ") + plugin->lastError().errorText();
    }
    printError(text);
    finish(1);
}

void HeadlessHost::setTimeout(std::chrono::milliseconds timeout)
{
    m_timeout = timeout;
}

void HeadlessHost::timedOut(Plugin *plugin, const QString &function)
{
    if (m_call.isFinished()) {
        return; // it answered in time; its continuation is on its way
    }
    m_timedOut = true;
    const bool loading = plugin->state() == Plugin::State::Loading;
    auto report = [this, plugin, function, loading](const QString &stack) {
        QString headline = QStringLiteral("pluginhost: %1: %2() did not return within %3 ms").arg(plugin->id(), function).arg(m_timeout.count());
        if (loading) {
            headline += QStringLiteral(" (the plugin was still loading)");
        }
        if (plugin->activity().isBlocked() || stack.contains(QLatin1String("blocked in C"))) {
            headline += QStringLiteral("; it is blocked in C, where it cannot be interrupted");
        }
        printError(headline);
        printError(QStringLiteral("Python stack of %1:\n%2").arg(plugin->id(), stack.trimmed()));
        m_call.cancel();
        // A plugin stuck in C cannot be unloaded: give up on it soon, so that the host exits.
        m_manager->setUnloadTimeouts(unloadTimeoutsAfterDeadline);
        finish(2);
    };
    whenFinished(this, plugin->stackSnapshot(snapshotWait), [report](const QFuture<QString> &snapshot) {
        QString stack = QStringLiteral("(no snapshot: it was cancelled)");
        try {
            QFuture<QString>(snapshot).waitForFinished(); // finished already: throws what failed it
            if (snapshot.resultCount() > 0) {
                stack = snapshot.result();
            }
        } catch (const CallError &failure) {
            stack = QStringLiteral("(no snapshot: %1)").arg(failure.error().message());
        }
        report(stack);
    });
}

void HeadlessHost::finish(int exitCode)
{
    // Leave the event loop first: the manager unloads the plugins as main() returns.
    QTimer::singleShot(0, qApp, [exitCode] {
        QCoreApplication::exit(exitCode);
    });
}
