// The SQLite store of one application profile: the plugin registry and every plugin's key/value
// store. Self-contained: it depends on Qt and SQLite only, so that the plugins layer can use it
// (see the note in DESIGN.md's "Storage").
#pragma once

#include "pluginhostcore_export.h"

#include <QDateTime>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVariant>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace PluginHost
{

/// Why a storage operation failed; kind() is NoError when it did not.
class PLUGINHOSTCORE_EXPORT StorageError
{
public:
    enum class Kind {
        NoError,
        Unavailable, ///< the database cannot be opened or created (folder missing and not creatable, newer schema, …)
        Locked, ///< another process kept the database locked
        Full, ///< the disk is full
        ReadOnly, ///< the file or its folder cannot be written
        TooLarge, ///< a key, a value or a transaction exceeds its limit (ProfileDatabase::maximumKeySize, …)
        Failed, ///< anything else SQLite reported
    };

    StorageError() = default;
    StorageError(Kind kind, const QString &message)
        : m_kind(kind)
        , m_message(message)
    {
    }

    Kind kind() const
    {
        return m_kind;
    }
    bool isError() const
    {
        return m_kind != Kind::NoError;
    }
    /// What happened, to which file, and what to do.
    QString message() const
    {
        return m_message;
    }

private:
    Kind m_kind = Kind::NoError;
    QString m_message;
};

/// What the registry remembers of one plugin across runs.
struct RegistryRecord {
    std::optional<bool> enabled; ///< unset: the plugin's EnabledByDefault applies
    QString lastVersion; ///< the version last loaded (or tried)
    QString lastResult; ///< "loaded", "failed", or empty when never loaded
    QDateTime lastLoadTime; ///< UTC; invalid when never loaded
    qint64 loads = 0; ///< fresh loads tried
    qint64 reloads = 0; ///< reloads tried
    QString lastError; ///< the error of the last load; empty after a successful one
};

/*
 * One SQLite database per application profile. Thread-safe: every thread gets its own
 * connection (made on first use, closed when the thread ends); the file is opened, checked
 * (`PRAGMA quick_check`; a corrupt file is moved aside to `<name>.corrupt-<time>` and a fresh
 * one made) and migrated on the first access. WAL journal, synchronous=NORMAL: a committed
 * write survives the process being killed (not necessarily a power cut).
 *
 * Writes of all threads of the process take one short in-process lock (so that they queue
 * instead of sleeping in SQLite's busy handler); it is held for one statement, or for the commit
 * of a Transaction, never while a caller's code runs. Another process holding the database is
 * waited for up to lockTimeout(), three times, and then reported as StorageError::Kind::Locked.
 *
 * Values are encoded as CBOR (QCborValue::fromVariant) and limited to maximumValueSize bytes
 * encoded; keys to maximumKeySize bytes of UTF-8. Each plugin's values live under its own
 * namespace, the plugin id.
 */
class PLUGINHOSTCORE_EXPORT ProfileDatabase
{
public:
    static constexpr qsizetype maximumValueSize = 16 * 1024 * 1024;
    /// Keys are names, not data: a longer one is refused (reads included) as StorageError::Kind::TooLarge.
    static constexpr qsizetype maximumKeySize = 1024;
    /// What one Transaction may keep in memory until it commits: its keys and encoded values.
    static constexpr qsizetype maximumTransactionSize = 64 * 1024 * 1024;
    static constexpr int schemaVersion = 1;

    explicit ProfileDatabase(const QString &filePath);
    ~ProfileDatabase();
    ProfileDatabase(const ProfileDatabase &) = delete;
    ProfileDatabase &operator=(const ProfileDatabase &) = delete;

    QString filePath() const;

    /// How long one attempt waits for a lock held elsewhere (default 2 s); three attempts are made.
    void setLockTimeout(std::chrono::milliseconds timeout);
    std::chrono::milliseconds lockTimeout() const;

    /// Opens, checks and migrates the database unless that happened already. Every other
    /// function calls it; calling it first only moves the work (and the error) earlier.
    StorageError open();

    // The registry.
    StorageError record(const QString &pluginId, RegistryRecord *record);
    StorageError setEnabled(const QString &pluginId, bool enabled);
    /// A load (or reload) of `version` ended; an empty `error` means it succeeded.
    StorageError recordLoad(const QString &pluginId, const QString &version, bool reload, const QString &error);
    /// recordLoad() on the database's own writer thread, so that the caller neither opens a
    /// connection nor waits for the disk. A failure is logged. record() waits for it.
    void recordLoadLater(const QString &pluginId, const QString &version, bool reload, const QString &error);
    /// Waits until everything queued by a *Later() function is written.
    void flush();
    /// What on_unload() returned, for the next start.
    StorageError saveState(const QString &pluginId, const QVariant &state);
    /// The saved state, removed as it is read: a start after a crash finds nothing.
    StorageError takeState(const QString &pluginId, QVariant *state, bool *found);

    // Values, in the namespace `space` (a plugin id). `value` may be null to test for the key.
    StorageError value(const QString &space, const QString &key, QVariant *value, bool *found);
    StorageError setValue(const QString &space, const QString &key, const QVariant &value);
    StorageError removeValue(const QString &space, const QString &key, bool *existed);
    /// Sorted.
    StorageError keys(const QString &space, QStringList *keys);
    StorageError count(const QString &space, qint64 *count);

    class Transaction;

    struct Shared;

private:
    // Key -> encoded value, or nullopt for a removal.
    using PendingWrites = QMap<QString, std::optional<QByteArray>>;

    StorageError recordLoadAt(const QString &pluginId, const QString &version, bool reload, const QString &error, qint64 time);
    // Writes `writes` to `space` in one SQLite transaction.
    StorageError applyWrites(const QString &space, const PendingWrites &writes);

    std::shared_ptr<Shared> const d;
};

/*
 * The values of one namespace as seen by a transaction: reads see its own writes, and its writes
 * reach the database together when the outermost level commits. Levels nest: begin() inside an
 * open level starts a savepoint; ending a level with commit hands its writes to the enclosing
 * one, rolling back drops them. With no level open, every call reads or writes the database at
 * once, like ProfileDatabase's own functions.
 *
 * The writes wait in memory rather than in an open SQLite transaction because SQLite has one
 * writer per database: a transaction held open while a plugin's code runs (or forgotten by it)
 * would make every other writer of the process wait, other plugins and the registry included.
 * Kept in memory, they hold the writer lock only for the commit, which maximumTransactionSize
 * keeps short. The price: a transaction is atomic, not isolated. Its reads see what other
 * threads committed meanwhile, and for a key both wrote, the later commit wins. Nothing bounds
 * how long one stays open: that delays only its own writes, and its owner rolls back one that
 * is left open.
 *
 * Not thread-safe: its owner serializes the calls.
 */
class PLUGINHOSTCORE_EXPORT ProfileDatabase::Transaction
{
public:
    Transaction(std::shared_ptr<ProfileDatabase> database, const QString &space);
    ~Transaction();
    Transaction(Transaction &&) noexcept;
    Transaction &operator=(Transaction &&) noexcept;

    void begin();
    /// Ends the innermost level. Committing the outermost one writes everything, or nothing
    /// when that fails; rolling back drops what the level wrote.
    StorageError end(bool commit);
    /// The bytes kept in memory: keys and encoded values of every open level.
    qsizetype size() const;

    StorageError value(const QString &key, QVariant *value, bool *found);
    StorageError setValue(const QString &key, const QVariant &value);
    StorageError removeValue(const QString &key, bool *existed);
    /// Sorted.
    StorageError keys(QStringList *keys);
    StorageError count(qint64 *count);

private:
    struct Level {
        PendingWrites writes;
        qsizetype size = 0;
    };
    // What the open levels wrote for `key`, innermost first: nullptr when none did.
    const std::optional<QByteArray> *pending(const QString &key) const;
    bool hasPendingWrites() const;

    std::shared_ptr<ProfileDatabase> m_database;
    QString m_space;
    std::vector<Level> m_levels; // outermost first
};

} // namespace PluginHost
