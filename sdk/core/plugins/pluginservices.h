#pragma once

#include "module/hostservices.h"

#include <QTranslator>

#include <memory>
#include <mutex>
#include <unordered_map>

namespace PluginHost
{

class Interpreter;
class PluginRegistry;
class ProfileDatabase;
struct PluginShared;

/*
 * The host, as one loaded plugin instance sees it through its `pluginhost` module. Made by the
 * load job on the interpreter's thread and owned by that interpreter's PluginContext, so it
 * lives exactly as long as the instance. Thread-safe: a plugin's own Python threads reach it too.
 */
class StorageError;

/// A StorageError as the PluginError a plugin sees (no error for none).
PluginError storageFailure(const QString &pluginId, const StorageError &error);

class PluginServices : public HostServices
{
public:
    PluginServices(std::shared_ptr<PluginShared> shared, std::shared_ptr<PluginRegistry> registry, Interpreter &interpreter, const QVariant &previousState);
    ~PluginServices() override;

    QString pluginId() const override;
    QString version() const override;
    QString directory() const override;
    QString dataDirectory() const override;
    qint64 interpreterId() const override;
    bool ownGil() const override;
    QVariant previousState() const override;
    PermissionPolicy permissionPolicy() const override;

    void log(LogLevel level, const QString &message, const QString &fileName, int line) override;

    void subscribe(const QString &event) override;
    void emitEvent(const QString &event, const QVariant &payload) override;
    CallResult
    callPlugin(const QString &pluginId, const QString &function, const QVariantList &arguments, std::optional<std::chrono::milliseconds> timeout) override;

    QString translate(const QString &context, const QString &text) const override;

    PluginError storageValue(const QString &key, QVariant *value, bool *found) override;
    PluginError setStorageValue(const QString &key, const QVariant &value) override;
    PluginError removeStorageValue(const QString &key, bool *existed) override;
    PluginError storageKeys(QStringList *keys) override;
    PluginError storageCount(qint64 *count) override;
    PluginError beginStorageTransaction(const QString &origin, quint64 *transaction) override;
    PluginError endStorageTransaction(quint64 transaction, bool commit) override;
    void abandonStorageTransaction(quint64 transaction) override;
    /// Rolls back the storage transactions still open, warning about each with where it was
    /// opened. The destructor calls it: whatever its Python objects become, an instance that is
    /// gone has no transaction open.
    void rollBackOpenTransactions();

private:
    struct OpenTransaction;
    // Runs `work` on the calling thread's open transaction, or straight on the database.
    template<typename Work>
    PluginError withStorage(Work work);

    const std::shared_ptr<PluginShared> m_shared;
    const std::shared_ptr<PluginRegistry> m_registry;
    Interpreter *const m_interpreter; // compared, never dereferenced off its thread
    const qint64 m_interpreterId;
    const bool m_ownGil;
    const QVariant m_previousState;
    const QString m_dataDirectory;
    const std::shared_ptr<ProfileDatabase> m_database; // the one of the manager when this instance loaded

    mutable std::mutex m_dataDirectoryMutex;
    mutable bool m_dataDirectoryMade = false;
    std::unique_ptr<QTranslator> m_translator; // null without a catalog for the current locale

    std::mutex m_transactionsMutex;
    std::unordered_map<quint64, std::unique_ptr<OpenTransaction>> m_transactions; // by the serial of the thread that opened it
    quint64 m_lastTransactionId = 0;
};

} // namespace PluginHost
