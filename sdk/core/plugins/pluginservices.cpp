#include "pluginservices.h"

#include "plugin_p.h"
#include "pluginregistry.h"
#include "storage/profiledatabase.h"

#include "pluginhost_plugins_debug.h"

#include <QDir>
#include <QFileInfo>
#include <QLocale>

namespace PluginHost
{

namespace
{
std::unique_ptr<QTranslator> loadTranslator(const PluginMetaData &metaData)
{
    // Most plugins ship no catalogs: look no further than one stat() for them.
    const QString folder = metaData.directory() + QLatin1String("/translations");
    if (!QFileInfo(folder).isDir()) {
        return nullptr;
    }
    auto translator = std::make_unique<QTranslator>();
    if (!translator->load(QLocale(), metaData.entryPoint(), QStringLiteral("_"), folder)) {
        qCDebug(PLUGINHOST_PLUGINS) << "no catalog for" << QLocale().name() << "in" << folder;
        return nullptr;
    }
    return translator;
}
} // namespace

PluginError storageFailure(const QString &pluginId, const StorageError &error)
{
    if (!error.isError()) {
        return PluginError();
    }
    return PluginError(error.kind() == StorageError::Kind::TooLarge ? PluginError::Kind::InvalidValue : PluginError::Kind::StorageFailed, pluginId, error.message());
}

PluginServices::PluginServices(std::shared_ptr<PluginShared> shared,
                               std::shared_ptr<PluginRegistry> registry,
                               Interpreter &interpreter,
                               const QVariant &previousState)
    : m_shared(std::move(shared))
    , m_registry(std::move(registry))
    , m_interpreter(&interpreter)
    , m_interpreterId(interpreter.id())
    , m_ownGil(interpreter.gil() == Interpreter::Isolation::OwnGil)
    , m_previousState(previousState)
    , m_dataDirectory(QDir::cleanPath(m_registry->dataLocation() + QLatin1Char('/') + m_shared->metaData.id()))
    , m_database(m_registry->database())
    , m_translator(loadTranslator(m_shared->metaData))
{
}

PluginServices::~PluginServices() = default;

QString PluginServices::pluginId() const
{
    return m_shared->metaData.id();
}

QString PluginServices::version() const
{
    return m_shared->metaData.version();
}

QString PluginServices::directory() const
{
    return m_shared->metaData.directory();
}

QString PluginServices::dataDirectory() const
{
    std::lock_guard lock(m_dataDirectoryMutex);
    if (!m_dataDirectoryMade) {
        // Made on demand: most plugins never write anything.
        m_dataDirectoryMade = QDir().mkpath(m_dataDirectory);
        if (!m_dataDirectoryMade) {
            qCWarning(PLUGINHOST_PLUGINS) << "could not create the data folder" << m_dataDirectory << "for" << pluginId();
        }
    }
    return m_dataDirectory;
}

qint64 PluginServices::interpreterId() const
{
    return m_interpreterId;
}

bool PluginServices::ownGil() const
{
    return m_ownGil;
}

QVariant PluginServices::previousState() const
{
    return m_previousState;
}

HostServices::PermissionPolicy PluginServices::permissionPolicy() const
{
    PermissionPolicy policy;
    policy.enforced = true;
    policy.permissions = m_shared->metaData.permissions();
    policy.metaDataFile = m_shared->metaData.metaDataFile();
    policy.dataDirectory = m_dataDirectory;
    policy.dataLocation = QDir::cleanPath(m_registry->dataLocation());
    policy.profileDatabase = m_database->filePath();
    return policy;
}

void PluginServices::log(LogLevel level, const QString &message, const QString &fileName, int line)
{
    const QLoggingCategory &category = m_shared->logCategory;
    const QByteArray file = fileName.toUtf8();
    const QByteArray text = message.toUtf8();
    // The category overloads check whether the level is enabled, so filtering rules
    // (QT_LOGGING_RULES="pluginhost.plugin.*.debug=false") apply to plugins too.
    QMessageLogger logger(file.isEmpty() ? nullptr : file.constData(), line, nullptr);
    switch (level) {
    case LogLevel::Debug:
        logger.debug(category, "%s", text.constData());
        break;
    case LogLevel::Info:
        logger.info(category, "%s", text.constData());
        break;
    case LogLevel::Warning:
        logger.warning(category, "%s", text.constData());
        break;
    case LogLevel::Error: // Qt has no level between warning and critical
    case LogLevel::Critical:
        logger.critical(category, "%s", text.constData());
        break;
    }
}

void PluginServices::subscribe(const QString &event)
{
    std::lock_guard lock(m_shared->mutex);
    // An instance on its way out (unloading, or replaced by a reload) subscribes no more.
    if (m_shared->interpreter.get() == m_interpreter) {
        m_shared->subscriptions.insert(event);
    }
}

void PluginServices::emitEvent(const QString &event, const QVariant &payload)
{
    m_registry->emitEvent(pluginId(), event, payload);
}

CallResult
PluginServices::callPlugin(const QString &pluginId, const QString &function, const QVariantList &arguments, std::optional<std::chrono::milliseconds> timeout)
{
    PluginRegistry::Caller caller;
    caller.pluginId = this->pluginId();
    // Only a wait on the interpreter's own thread keeps the plugin from running its mailbox;
    // threads the plugin started may wait on anyone without blocking it.
    caller.blocksItsInterpreter = Interpreter::current() == m_interpreter;
    caller.isLeaving = [this] {
        std::lock_guard lock(m_shared->mutex);
        return m_shared->interpreter.get() != m_interpreter;
    };
    return m_registry->call(caller, pluginId, function, arguments, timeout);
}

QString PluginServices::translate(const QString &context, const QString &text) const
{
    if (!m_translator) {
        return text;
    }
    const QByteArray source = text.toUtf8();
    QString translated;
    if (context.isEmpty()) {
        // tr() has no context of its own. lupdate files `pluginhost.tr("…")` under the context
        // "pluginhost" (the name before the dot) and a bare `tr("…")` under the empty one.
        translated = m_translator->translate("pluginhost", source.constData());
        if (translated.isEmpty()) {
            translated = m_translator->translate("", source.constData());
        }
    } else {
        translated = m_translator->translate(context.toUtf8().constData(), source.constData());
    }
    return translated.isEmpty() ? text : translated;
}

PluginError PluginServices::storageValue(const QString &key, QVariant *value, bool *found)
{
    return storageFailure(pluginId(), m_database->value(pluginId(), key, value, found));
}

PluginError PluginServices::setStorageValue(const QString &key, const QVariant &value)
{
    return storageFailure(pluginId(), m_database->setValue(pluginId(), key, value));
}

PluginError PluginServices::removeStorageValue(const QString &key, bool *existed)
{
    return storageFailure(pluginId(), m_database->removeValue(pluginId(), key, existed));
}

PluginError PluginServices::storageKeys(QStringList *keys)
{
    return storageFailure(pluginId(), m_database->keys(pluginId(), keys));
}

PluginError PluginServices::storageCount(qint64 *count)
{
    return storageFailure(pluginId(), m_database->count(pluginId(), count));
}

PluginError PluginServices::beginStorageTransaction()
{
    return storageFailure(pluginId(), m_database->beginTransaction());
}

PluginError PluginServices::endStorageTransaction(bool commit)
{
    return storageFailure(pluginId(), m_database->endTransaction(commit));
}

} // namespace PluginHost
