#include "headless.h"

#include <PluginHost/PluginManager>

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMetaEnum>
#include <QTimer>

#include <cstdio>

using namespace PluginHost;

namespace
{
QString stateName(Plugin::State state)
{
    return QString::fromLatin1(QMetaEnum::fromType<Plugin::State>().valueToKey(int(state))).toLower();
}

void printOut(const QByteArray &text)
{
    std::fwrite(text.constData(), 1, size_t(text.size()), stdout);
    std::fflush(stdout);
}

void printError(const QString &text)
{
    const QByteArray utf8 = text.toUtf8() + '\n';
    std::fwrite(utf8.constData(), 1, size_t(utf8.size()), stderr);
}

QJsonValue toJson(const QVariant &value)
{
    // Bytes are not JSON: print them as text when they are UTF-8, which is what scripts expect.
    if (value.typeId() == QMetaType::QByteArray) {
        return QJsonValue(QString::fromUtf8(value.toByteArray()));
    }
    if (value.typeId() == QMetaType::QVariantList) {
        QJsonArray array;
        for (const QVariant &item : value.toList()) {
            array.append(toJson(item));
        }
        return array;
    }
    if (value.typeId() == QMetaType::QVariantMap) {
        QJsonObject object;
        const QVariantMap map = value.toMap();
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            object.insert(it.key(), toJson(it.value()));
        }
        return object;
    }
    return QJsonValue::fromVariant(value);
}
} // namespace

HeadlessHost::HeadlessHost(PluginManager *manager, QObject *parent)
    : QObject(parent)
    , m_manager(manager)
{
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
    m_manager->loadAll().then(this, [this] {
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
        printOut(QJsonDocument(plugins).toJson(QJsonDocument::Indented));
        finish(0);
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
        arguments = document.array().toVariantList();
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
    // Calls made while loading wait for the load; a failed load fails the call with its error.
    plugin->call(function, arguments)
        .then(this,
              [this](const QVariant &result) {
                  const QJsonValue json = toJson(result);
                  printOut(QJsonDocument(QJsonArray{json}).toJson(QJsonDocument::Compact).mid(1).chopped(1) + '\n');
                  finish(0);
              })
        .onFailed(this, [this](const CallError &failure) {
            printError(failure.error().errorText());
            finish(1);
        });
}

void HeadlessHost::finish(int exitCode)
{
    // Leave the event loop first: the manager unloads the plugins as main() returns.
    QTimer::singleShot(0, qApp, [exitCode] {
        QCoreApplication::exit(exitCode);
    });
}
