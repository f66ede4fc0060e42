#include "pluginservices.h"

#include "plugin_p.h"
#include "pluginmetadata_p.h"
#include "pluginregistry.h"
#include "storage/profiledatabase.h"

#include "pluginhost_plugins_debug.h"

#include <QDir>
#include <QFileInfo>
#include <QLocale>

#include <atomic>
#include <vector>

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

// The calling thread, for as long as the process runs. A std::thread::id may be handed to a
// thread started after this one ended, which would then find this one's open transaction.
quint64 threadSerial()
{
    static std::atomic<quint64> next{1};
    thread_local const quint64 serial = next++;
    return serial;
}
} // namespace

// The transaction one thread of the plugin has open, its levels named and located.
struct PluginServices::OpenTransaction {
    struct Level {
        quint64 id;
        QString origin; // "file.py:12 in f"
    };

    OpenTransaction(std::shared_ptr<ProfileDatabase> database, const QString &space)
        : writes(std::move(database), space)
    {
    }

    ProfileDatabase::Transaction writes;
    std::vector<Level> levels; // outermost first, one per level of `writes`

    qsizetype indexOf(quint64 id) const
    {
        for (size_t i = 0; i < levels.size(); ++i) {
            if (levels[i].id == id) {
                return qsizetype(i);
            }
        }
        return -1;
    }

    // Rolls back the levels from the innermost one down to `index`; their origins, innermost first.
    QStringList rollBackFrom(qsizetype index)
    {
        QStringList origins;
        while (qsizetype(levels.size()) > index) {
            writes.end(false);
            origins.append(levels.back().origin);
            levels.pop_back();
        }
        return origins;
    }
};

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
    , m_dataDirectory(PluginMetaDataInternal::folderForId(m_registry->dataLocation(), m_shared->metaData.id()))
    , m_database(m_registry->database())
    , m_translator(loadTranslator(m_shared->metaData))
{
}

PluginServices::~PluginServices()
{
    rollBackOpenTransactions();
}

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
    if (m_dataDirectory.isEmpty()) {
        qCWarning(PLUGINHOST_PLUGINS).noquote() << QStringLiteral("refused a data folder for the plugin %1: its id names no folder inside %2")
                                                       .arg(PluginMetaDataInternal::quotedForMessage(pluginId()), m_registry->dataLocation());
        return {};
    }
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

template<typename Work>
PluginError PluginServices::withStorage(Work work)
{
    {
        std::lock_guard lock(m_transactionsMutex);
        const auto found = m_transactions.find(threadSerial());
        if (found != m_transactions.end()) {
            return storageFailure(pluginId(), work(found->second->writes));
        }
    }
    ProfileDatabase::Transaction direct(m_database, pluginId()); // no level open: straight to the database
    return storageFailure(pluginId(), work(direct));
}

PluginError PluginServices::storageValue(const QString &key, QVariant *value, bool *found)
{
    return withStorage([&](ProfileDatabase::Transaction &storage) {
        return storage.value(key, value, found);
    });
}

PluginError PluginServices::setStorageValue(const QString &key, const QVariant &value)
{
    return withStorage([&](ProfileDatabase::Transaction &storage) {
        return storage.setValue(key, value);
    });
}

PluginError PluginServices::removeStorageValue(const QString &key, bool *existed)
{
    return withStorage([&](ProfileDatabase::Transaction &storage) {
        return storage.removeValue(key, existed);
    });
}

PluginError PluginServices::storageKeys(QStringList *keys)
{
    return withStorage([&](ProfileDatabase::Transaction &storage) {
        return storage.keys(keys);
    });
}

PluginError PluginServices::storageCount(qint64 *count)
{
    return withStorage([&](ProfileDatabase::Transaction &storage) {
        return storage.count(count);
    });
}

// A transaction keeps its writes in memory until it commits (ProfileDatabase::Transaction says
// why): however long it stays open, other plugins and the registry write meanwhile.
PluginError PluginServices::beginStorageTransaction(const QString &origin, quint64 *transaction)
{
    std::lock_guard lock(m_transactionsMutex);
    std::unique_ptr<OpenTransaction> &open = m_transactions[threadSerial()];
    if (!open) {
        open = std::make_unique<OpenTransaction>(m_database, pluginId());
    }
    *transaction = ++m_lastTransactionId;
    open->writes.begin();
    open->levels.push_back({*transaction, origin});
    return PluginError();
}

PluginError PluginServices::endStorageTransaction(quint64 transaction, bool commit)
{
    std::unique_lock lock(m_transactionsMutex);
    const auto found = m_transactions.find(threadSerial());
    const qsizetype index = found != m_transactions.end() ? found->second->indexOf(transaction) : -1;
    if (index < 0) {
        return PluginError(PluginError::Kind::StorageFailed,
                           pluginId(),
                           QStringLiteral("this storage transaction is not open on this thread: a transaction belongs to the thread that opened it, "
                                          "and ends when the transaction around it ends"));
    }
    OpenTransaction &open = *found->second;
    for (const QString &origin : open.rollBackFrom(index + 1)) {
        qCWarning(PLUGINHOST_PLUGINS).noquote()
            << QStringLiteral("%1: the storage transaction opened at %2 was still open when the one around it ended; its writes were rolled back")
                   .arg(pluginId(), origin);
    }
    if (index > 0) {
        open.levels.pop_back();
        return storageFailure(pluginId(), open.writes.end(commit));
    }
    // The outermost level: the commit runs without the lock, so that the plugin's other threads
    // do not wait for the disk.
    const std::unique_ptr<OpenTransaction> ended = std::move(found->second);
    m_transactions.erase(found);
    lock.unlock();
    return storageFailure(pluginId(), ended->writes.end(commit));
}

void PluginServices::abandonStorageTransaction(quint64 transaction)
{
    std::lock_guard lock(m_transactionsMutex);
    for (auto it = m_transactions.begin(); it != m_transactions.end(); ++it) {
        OpenTransaction &open = *it->second;
        const qsizetype index = open.indexOf(transaction);
        if (index < 0) {
            continue;
        }
        for (const QString &origin : open.rollBackFrom(index)) {
            qCWarning(PLUGINHOST_PLUGINS).noquote()
                << QStringLiteral("%1: the storage transaction opened at %2 was dropped without being exited; its writes were rolled back "
                                  "(use storage.transaction() in a with statement)")
                       .arg(pluginId(), origin);
        }
        if (open.levels.empty()) {
            m_transactions.erase(it);
        }
        return;
    }
}

void PluginServices::rollBackOpenTransactions()
{
    std::lock_guard lock(m_transactionsMutex);
    for (auto &entry : m_transactions) {
        for (const QString &origin : entry.second->rollBackFrom(0)) {
            qCWarning(PLUGINHOST_PLUGINS).noquote()
                << QStringLiteral("%1 unloaded with the storage transaction opened at %2 still open; its writes were rolled back "
                                  "(end transactions before the call that opened them returns, with a with statement)")
                       .arg(pluginId(), origin);
        }
    }
    m_transactions.clear();
}

} // namespace PluginHost
