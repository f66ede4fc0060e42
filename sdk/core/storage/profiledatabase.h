// The SQLite store of one application profile: the plugin registry and every plugin's key/value
// store. Self-contained: it depends on Qt and SQLite only, so that the plugins layer can use it
// (see the note in DESIGN.md's "Storage").
#pragma once

#include "pluginhostcore_export.h"

#include <QDateTime>
#include <QString>
#include <QStringList>
#include <QVariant>

#include <chrono>
#include <memory>
#include <optional>

namespace PluginHost
{

/// Why a storage operation failed; kind() is NoError when it did not.
class PLUGINHOSTCORE_EXPORT StorageError
{
public:
    enum class Kind {
        NoError,
        Unavailable, ///< the database cannot be opened or created (folder missing and not creatable, newer schema, …)
        Locked, ///< another process (or a long transaction of another thread) kept the database locked
        Full, ///< the disk is full
        ReadOnly, ///< the file or its folder cannot be written
        TooLarge, ///< a key or a value exceeds its limit (ProfileDatabase::maximumKeySize, maximumValueSize)
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
 * instead of sleeping in SQLite's busy handler); another process holding the database is waited
 * for up to lockTimeout(), three times, and then reported as StorageError::Kind::Locked.
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

    /*
     * A transaction of the calling thread: what it writes until endTransaction() commits or
     * rolls back as one. Nested calls make savepoints. Other threads' writes wait meanwhile
     * (up to lockTimeout()), so keep transactions short.
     */
    StorageError beginTransaction();
    StorageError endTransaction(bool commit);

    struct Shared;

private:
    StorageError recordLoadAt(const QString &pluginId, const QString &version, bool reload, const QString &error, qint64 time);

    std::shared_ptr<Shared> const d;
};

} // namespace PluginHost
