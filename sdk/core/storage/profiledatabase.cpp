#include "profiledatabase_p.h"

#include "databaseguard.h"

#include "pluginhost_storage_debug.h"

#include <QCborValue>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <pthread.h>

namespace PluginHost
{

namespace
{
constexpr int lockAttempts = 3;

// Schema migrations: migrations[i] takes the database from user_version i to i + 1.
const char *const migrations[] = {
    "CREATE TABLE plugins ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  enabled INTEGER," // NULL: EnabledByDefault applies
    "  last_version TEXT,"
    "  last_result TEXT,"
    "  last_load_time INTEGER," // ms since the epoch, UTC
    "  loads INTEGER NOT NULL DEFAULT 0,"
    "  reloads INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  saved_state BLOB" // CBOR of what on_unload() returned, for the next start
    ");"
    "CREATE TABLE plugin_values ("
    "  plugin TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value BLOB NOT NULL," // CBOR
    "  PRIMARY KEY (plugin, key)"
    ");",
};
static_assert(std::size(migrations) == ProfileDatabase::schemaVersion);

std::atomic<quint64> s_nextDatabaseId{1};
} // namespace

struct ProfileDatabase::Shared {
    const quint64 id = s_nextDatabaseId++;
    QString filePath;
    std::atomic<qint64> lockTimeoutMs{2000};
    std::timed_mutex writer; // one writer of this process at a time
    std::mutex openMutex;
    std::atomic<bool> opened{false};
    QString lastWarning; // under openMutex: the same failure is logged once

    // The writer thread of the *Later() functions, started on first use. Its connection stays
    // open while the database exists, so threads that end do not checkpoint the WAL as they
    // close theirs, and plugin threads need no connection of their own for bookkeeping.
    struct Background {
        std::mutex mutex;
        std::condition_variable wake; // tasks queued, or stopping
        std::condition_variable idle; // the queue ran empty
        std::deque<std::function<void()>> tasks;
        bool running = false; // a task is being run
        bool stopping = false;
        std::thread thread;
    } background;
};

namespace
{

struct Connection {
    sqlite3 *db = nullptr;
    bool inTransaction = false; // applyWrites() runs
    std::weak_ptr<ProfileDatabase::Shared> owner;
    std::unordered_map<const char *, sqlite3_stmt *> statements; // keyed by the static SQL text

    void close()
    {
        for (auto &entry : statements) {
            sqlite3_finalize(entry.second);
        }
        statements.clear();
        sqlite3_close_v2(db);
        db = nullptr;
    }
};

// This thread's connections, by database id; closed when the thread ends.
struct ThreadConnections {
    std::unordered_map<quint64, Connection> byDatabase;
    ~ThreadConnections()
    {
        for (auto &entry : byDatabase) {
            entry.second.close();
        }
    }
    // Closes the connections of databases that no longer exist.
    void prune()
    {
        for (auto it = byDatabase.begin(); it != byDatabase.end();) {
            if (it->second.owner.expired()) {
                it->second.close();
                it = byDatabase.erase(it);
            } else {
                ++it;
            }
        }
    }
};
thread_local ThreadConnections t_connections;

QString errorText(sqlite3 *db)
{
    return db ? QString::fromUtf8(sqlite3_errmsg(db)) : QStringLiteral("out of memory");
}

StorageError errorFrom(int code, sqlite3 *db, const QString &filePath)
{
    const QString detail = errorText(db);
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return {StorageError::Kind::Locked,
                QStringLiteral("the database %1 is locked by another process (%2); close the other program using this profile or choose another profile")
                    .arg(filePath, detail)};
    case SQLITE_FULL:
        return {StorageError::Kind::Full, QStringLiteral("the disk holding %1 is full (%2); free some space").arg(filePath, detail)};
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return {StorageError::Kind::ReadOnly, QStringLiteral("%1 cannot be written (%2); check the folder's permissions or choose another profile").arg(filePath, detail)};
    default:
        return {StorageError::Kind::Failed, QStringLiteral("SQLite failed on %1: %2").arg(filePath, detail)};
    }
}

bool isBusy(int code)
{
    return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
}

bool isCorrupt(int code)
{
    return (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
}

int execute(sqlite3 *db, const char *sql)
{
    int code = SQLITE_OK;
    for (int attempt = 0; attempt < lockAttempts; ++attempt) {
        code = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
        if (!isBusy(code)) {
            break;
        }
    }
    return code;
}

// The first column of the first row of `sql` as text, or an empty string.
int queryText(sqlite3 *db, const char *sql, QString *text)
{
    sqlite3_stmt *statement = nullptr;
    int code = sqlite3_prepare_v2(db, sql, -1, &statement, nullptr);
    if (code != SQLITE_OK) {
        return code;
    }
    for (int attempt = 0; attempt < lockAttempts; ++attempt) {
        code = sqlite3_step(statement);
        if (!isBusy(code)) {
            break;
        }
        sqlite3_reset(statement);
    }
    if (code == SQLITE_ROW) {
        *text = QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(statement, 0)));
        code = SQLITE_OK;
    } else if (code == SQLITE_DONE) {
        code = SQLITE_OK;
    }
    sqlite3_finalize(statement);
    return code;
}

// `value` with every value of a type CBOR does not know, but that converts to QByteArray (a
// PluginHost::Buffer), made a QByteArray: QCborValue::fromVariant() would store it as undefined.
QVariant withBytesForBlobs(const QVariant &value)
{
    switch (value.typeId()) {
    case QMetaType::QVariantList: {
        QVariantList items = value.toList();
        for (QVariant &item : items) {
            item = withBytesForBlobs(item);
        }
        return items;
    }
    case QMetaType::QVariantMap: {
        QVariantMap items = value.toMap();
        for (QVariant &item : items) {
            item = withBytesForBlobs(item);
        }
        return items;
    }
    default:
        if (value.typeId() >= QMetaType::User && value.canConvert<QByteArray>()) {
            return value.toByteArray();
        }
        return value;
    }
}

QVariant decodeColumn(sqlite3_stmt *statement, int column)
{
    const auto *data = static_cast<const char *>(sqlite3_column_blob(statement, column));
    return StorageInternal::decode(QByteArray::fromRawData(data, sqlite3_column_bytes(statement, column)));
}

void bindText(sqlite3_stmt *statement, int index, const QString &text)
{
    const QByteArray utf8 = text.toUtf8();
    sqlite3_bind_text(statement, index, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT);
}

QString columnText(sqlite3_stmt *statement, int column)
{
    return QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(statement, column)), sqlite3_column_bytes(statement, column));
}

// A prepared statement of the connection, reset and ready to bind.
class Statement
{
public:
    Statement(Connection &connection, const char *sql)
        : m_connection(connection)
    {
        auto found = connection.statements.find(sql);
        if (found != connection.statements.end()) {
            m_statement = found->second;
            return;
        }
        m_code = sqlite3_prepare_v3(connection.db, sql, -1, SQLITE_PREPARE_PERSISTENT, &m_statement, nullptr);
        if (m_code == SQLITE_OK) {
            connection.statements.emplace(sql, m_statement);
        }
    }
    ~Statement()
    {
        if (m_statement) {
            sqlite3_reset(m_statement);
            sqlite3_clear_bindings(m_statement);
        }
    }
    sqlite3_stmt *get() const
    {
        return m_statement;
    }
    int prepareCode() const
    {
        return m_code;
    }
    // SQLITE_ROW, SQLITE_DONE or an error; a busy database is retried (bounded).
    int step()
    {
        int code = SQLITE_OK;
        for (int attempt = 0; attempt < lockAttempts; ++attempt) {
            code = sqlite3_step(m_statement);
            if (!isBusy(code) || m_connection.inTransaction) {
                break; // inside a transaction only the caller may decide to retry
            }
            sqlite3_reset(m_statement);
        }
        return code;
    }

private:
    Connection &m_connection;
    sqlite3_stmt *m_statement = nullptr;
    int m_code = SQLITE_OK;
};

int openConnection(const QString &filePath, bool create, std::chrono::milliseconds lockTimeout, sqlite3 **db)
{
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    DatabaseGuard::protect(filePath); // from plugins, which reach SQLite in this process too
    const DatabaseGuard::HostAccess host;
    int code = sqlite3_open_v2(QFile::encodeName(filePath).constData(), db, flags, nullptr);
    if (code == SQLITE_OK) {
        sqlite3_extended_result_codes(*db, 1);
        sqlite3_busy_timeout(*db, int(lockTimeout.count()));
        code = execute(*db, "PRAGMA synchronous=NORMAL");
    }
    return code;
}

// The writer thread of ProfileDatabase's *Later() functions: runs what is queued, in order,
// until the database is destroyed.
void runBackgroundTasks(ProfileDatabase::Shared::Background &background)
{
    pthread_setname_np(pthread_self(), "pluginhost-db"); // not the name of the thread that started it
    std::unique_lock lock(background.mutex);
    while (true) {
        background.wake.wait(lock, [&background] {
            return !background.tasks.empty() || background.stopping;
        });
        if (background.tasks.empty()) {
            return; // stopping, and everything queued is written
        }
        std::function<void()> task = std::move(background.tasks.front());
        background.tasks.pop_front();
        background.running = true;
        lock.unlock();
        task();
        lock.lock();
        background.running = false;
        if (background.tasks.empty()) {
            background.idle.notify_all();
        }
    }
}

} // namespace

ProfileDatabase::ProfileDatabase(const QString &filePath)
    : d(std::make_shared<Shared>())
{
    d->filePath = filePath;
}

ProfileDatabase::~ProfileDatabase()
{
    {
        std::lock_guard lock(d->background.mutex);
        d->background.stopping = true; // after what is queued: nothing recorded is lost
    }
    d->background.wake.notify_all();
    if (d->background.thread.joinable()) {
        d->background.thread.join();
    }
    auto found = t_connections.byDatabase.find(d->id);
    if (found != t_connections.byDatabase.end()) {
        found->second.close();
        t_connections.byDatabase.erase(found);
    }
}

QString ProfileDatabase::filePath() const
{
    return d->filePath;
}

void ProfileDatabase::setLockTimeout(std::chrono::milliseconds timeout)
{
    d->lockTimeoutMs = timeout.count();
}

std::chrono::milliseconds ProfileDatabase::lockTimeout() const
{
    return std::chrono::milliseconds(d->lockTimeoutMs.load());
}

namespace
{
// Opens the file, checks it (moving a corrupt one aside) and migrates it: on the first access.
StorageError openAndMigrate(ProfileDatabase::Shared &shared, std::chrono::milliseconds lockTimeout, sqlite3 **result)
{
    const QString &filePath = shared.filePath;
    const QFileInfo file(filePath);
    if (!QDir().mkpath(file.absolutePath())) {
        return {StorageError::Kind::Unavailable,
                QStringLiteral("the profile folder %1 cannot be created; check its permissions or choose another profile").arg(file.absolutePath())};
    }
    sqlite3 *db = nullptr;
    for (int round = 0; round < 2; ++round) {
        int code = openConnection(filePath, true, lockTimeout, &db);
        QString check;
        if (code == SQLITE_OK) {
            code = queryText(db, "PRAGMA quick_check", &check);
        }
        if (code == SQLITE_OK && check == QLatin1String("ok")) {
            break;
        }
        if (round == 0 && (isCorrupt(code) || (code == SQLITE_OK && check != QLatin1String("ok")))) {
            const QString reason = code == SQLITE_OK ? check : errorText(db);
            sqlite3_close_v2(db);
            db = nullptr;
            const QString aside = filePath + QStringLiteral(".corrupt-") + QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss"));
            bool moved = QFile::rename(filePath, aside);
            for (const char *suffix : {"-wal", "-shm"}) {
                const QString companion = filePath + QLatin1String(suffix);
                if (QFile::exists(companion)) {
                    moved = QFile::rename(companion, aside + QLatin1String(suffix)) && moved;
                }
            }
            if (!moved) {
                return {StorageError::Kind::Unavailable,
                        QStringLiteral("the database %1 is corrupt (%2) and could not be moved aside; move or delete it").arg(filePath, reason)};
            }
            qCWarning(PLUGINHOST_STORAGE).noquote()
                << QStringLiteral("the database %1 is corrupt (%2); moved it to %3 and started a fresh one").arg(filePath, reason, aside);
            continue;
        }
        const StorageError error = errorFrom(code, db, filePath);
        sqlite3_close_v2(db);
        return error;
    }

    int code = execute(db, "PRAGMA journal_mode=WAL");
    QString version;
    if (code == SQLITE_OK) {
        code = queryText(db, "PRAGMA user_version", &version);
    }
    const int current = version.toInt();
    if (code == SQLITE_OK && current > ProfileDatabase::schemaVersion) {
        sqlite3_close_v2(db);
        return {StorageError::Kind::Unavailable,
                QStringLiteral("the database %1 has schema version %2, made by a newer PluginHost (this one knows %3); use that version or another profile")
                    .arg(filePath)
                    .arg(current)
                    .arg(ProfileDatabase::schemaVersion)};
    }
    for (int step = current; code == SQLITE_OK && step < ProfileDatabase::schemaVersion; ++step) {
        code = execute(db, "BEGIN IMMEDIATE");
        if (code == SQLITE_OK) {
            code = sqlite3_exec(db, migrations[step], nullptr, nullptr, nullptr);
        }
        if (code == SQLITE_OK) {
            code = sqlite3_exec(db, QByteArray("PRAGMA user_version=" + QByteArray::number(step + 1)).constData(), nullptr, nullptr, nullptr);
        }
        if (code == SQLITE_OK) {
            code = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        }
        if (code != SQLITE_OK) {
            const StorageError error = errorFrom(code, db, filePath);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            sqlite3_close_v2(db);
            return error;
        }
    }
    if (code != SQLITE_OK) {
        const StorageError error = errorFrom(code, db, filePath);
        sqlite3_close_v2(db);
        return error;
    }
    *result = db;
    return {};
}

// This thread's connection to the database, opened (and the database set up) on first use.
StorageError connectionOf(const std::shared_ptr<ProfileDatabase::Shared> &shared, Connection **connection)
{
    auto found = t_connections.byDatabase.find(shared->id);
    if (found != t_connections.byDatabase.end()) {
        *connection = &found->second;
        return {};
    }
    t_connections.prune();
    const std::chrono::milliseconds lockTimeout(shared->lockTimeoutMs.load());
    sqlite3 *db = nullptr;
    StorageError error;
    {
        std::lock_guard lock(shared->openMutex);
        if (!shared->opened) {
            error = openAndMigrate(*shared, lockTimeout, &db);
            shared->opened = !error.isError();
            if (error.isError() && error.message() != shared->lastWarning) {
                shared->lastWarning = error.message();
                qCWarning(PLUGINHOST_STORAGE).noquote() << error.message();
            }
        }
    }
    if (error.isError()) {
        return error;
    }
    if (!db) {
        const int code = openConnection(shared->filePath, false, lockTimeout, &db);
        if (code != SQLITE_OK) {
            error = errorFrom(code, db, shared->filePath);
            sqlite3_close_v2(db);
            return error;
        }
    }
    Connection &made = t_connections.byDatabase[shared->id];
    made.db = db;
    made.owner = shared;
    *connection = &made;
    return {};
}

// Runs `work` as a write, under the process's writer lock.
template<typename Work>
StorageError write(const std::shared_ptr<ProfileDatabase::Shared> &shared, Work work)
{
    Connection *connection = nullptr;
    if (StorageError error = connectionOf(shared, &connection); error.isError()) {
        return error;
    }
    // Held for one statement or one commit: long only while another process holds the file.
    const qint64 waitMs = shared->lockTimeoutMs.load() * lockAttempts;
    std::unique_lock<std::timed_mutex> lock(shared->writer, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::milliseconds(waitMs))) {
        return {StorageError::Kind::Locked,
                QStringLiteral("%1 stayed busy for longer than %2 ms: another write of this process is waiting for it, most likely because another "
                               "program holds it locked; close the other program using this profile or choose another profile")
                    .arg(shared->filePath)
                    .arg(waitMs)};
    }
    const int code = work(*connection);
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) {
        return errorFrom(code, connection->db, shared->filePath);
    }
    return {};
}

template<typename Work>
StorageError read(const std::shared_ptr<ProfileDatabase::Shared> &shared, Work work)
{
    Connection *connection = nullptr;
    if (StorageError error = connectionOf(shared, &connection); error.isError()) {
        return error;
    }
    const int code = work(*connection);
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) {
        return errorFrom(code, connection->db, shared->filePath);
    }
    return {};
}

StorageError tooLarge(const QString &what, qsizetype size)
{
    return {StorageError::Kind::TooLarge,
            QStringLiteral("%1 is %2 MiB encoded; storage keeps at most %3 MiB per value (keep larger data in a file under the plugin's data folder)")
                .arg(what)
                .arg(double(size) / (1024 * 1024), 0, 'f', 1)
                .arg(ProfileDatabase::maximumValueSize / (1024 * 1024))};
}

// Binds and runs the statement that stores `encoded` (or removes the key, for nullopt).
int writeValue(Connection &connection, const QString &space, const QString &key, const std::optional<QByteArray> &encoded)
{
    Statement statement(connection,
                        encoded ? "INSERT INTO plugin_values (plugin, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value"
                                : "DELETE FROM plugin_values WHERE plugin = ?1 AND key = ?2");
    if (!statement.get()) {
        return statement.prepareCode();
    }
    bindText(statement.get(), 1, space);
    bindText(statement.get(), 2, key);
    if (encoded) {
        sqlite3_bind_blob(statement.get(), 3, encoded->constData(), int(encoded->size()), SQLITE_STATIC);
    }
    return statement.step();
}
} // namespace

namespace StorageInternal
{
QByteArray encode(const QVariant &value)
{
    return QCborValue::fromVariant(withBytesForBlobs(value)).toCbor();
}

QVariant decode(const QByteArray &encoded)
{
    return QCborValue::fromCbor(encoded).toVariant();
}

StorageError checkKey(const QString &key, qsizetype *utf8Size)
{
    const qsizetype size = key.toUtf8().size();
    if (size > ProfileDatabase::maximumKeySize) {
        qsizetype shown = 32;
        if (key.at(shown - 1).isHighSurrogate()) {
            --shown; // a character is shown whole or not at all
        }
        return {StorageError::Kind::TooLarge,
                QStringLiteral("the key '%1…' is %2 bytes of UTF-8; storage keys are at most %3 bytes (keep data in values, not in keys)")
                    .arg(key.left(shown))
                    .arg(size)
                    .arg(ProfileDatabase::maximumKeySize)};
    }
    if (utf8Size) {
        *utf8Size = size;
    }
    return {};
}

StorageError checkValue(const QString &key, const QByteArray &encoded)
{
    if (encoded.size() > ProfileDatabase::maximumValueSize) {
        return tooLarge(QStringLiteral("the value for '%1'").arg(key), encoded.size());
    }
    return {};
}
} // namespace StorageInternal

StorageError ProfileDatabase::open()
{
    Connection *connection = nullptr;
    return connectionOf(d, &connection);
}

StorageError ProfileDatabase::record(const QString &pluginId, RegistryRecord *record)
{
    flush(); // the loads recorded later are part of the record
    *record = RegistryRecord();
    return read(d, [&](Connection &connection) {
        Statement statement(connection, "SELECT enabled, last_version, last_result, last_load_time, loads, reloads, last_error FROM plugins WHERE id = ?1");
        if (!statement.get()) {
            return statement.prepareCode();
        }
        bindText(statement.get(), 1, pluginId);
        const int code = statement.step();
        if (code == SQLITE_ROW) {
            sqlite3_stmt *row = statement.get();
            if (sqlite3_column_type(row, 0) != SQLITE_NULL) {
                record->enabled = sqlite3_column_int(row, 0) != 0;
            }
            record->lastVersion = columnText(row, 1);
            record->lastResult = columnText(row, 2);
            if (sqlite3_column_type(row, 3) != SQLITE_NULL) {
                record->lastLoadTime = QDateTime::fromMSecsSinceEpoch(sqlite3_column_int64(row, 3), Qt::UTC);
            }
            record->loads = sqlite3_column_int64(row, 4);
            record->reloads = sqlite3_column_int64(row, 5);
            record->lastError = columnText(row, 6);
        }
        return code;
    });
}

StorageError ProfileDatabase::setEnabled(const QString &pluginId, bool enabled)
{
    return write(d, [&](Connection &connection) {
        Statement statement(connection, "INSERT INTO plugins (id, enabled) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled");
        if (!statement.get()) {
            return statement.prepareCode();
        }
        bindText(statement.get(), 1, pluginId);
        sqlite3_bind_int(statement.get(), 2, enabled ? 1 : 0);
        return statement.step();
    });
}

StorageError ProfileDatabase::recordLoad(const QString &pluginId, const QString &version, bool reload, const QString &error)
{
    return recordLoadAt(pluginId, version, reload, error, QDateTime::currentMSecsSinceEpoch());
}

void ProfileDatabase::recordLoadLater(const QString &pluginId, const QString &version, bool reload, const QString &error)
{
    const qint64 time = QDateTime::currentMSecsSinceEpoch();
    Shared::Background &background = d->background;
    {
        std::lock_guard lock(background.mutex);
        background.tasks.push_back([this, pluginId, version, reload, error, time] {
            const StorageError failure = recordLoadAt(pluginId, version, reload, error, time);
            if (failure.isError()) {
                qCWarning(PLUGINHOST_STORAGE).noquote() << "the registry did not record the load of" << pluginId << "-" << failure.message();
            }
        });
        if (!background.thread.joinable()) {
            background.thread = std::thread(runBackgroundTasks, std::ref(background));
        }
    }
    background.wake.notify_one();
}

void ProfileDatabase::flush()
{
    std::unique_lock lock(d->background.mutex);
    d->background.idle.wait(lock, [this] {
        return d->background.tasks.empty() && !d->background.running;
    });
}

StorageError ProfileDatabase::recordLoadAt(const QString &pluginId, const QString &version, bool reload, const QString &error, qint64 time)
{
    return write(d, [&](Connection &connection) {
        Statement statement(connection,
                            "INSERT INTO plugins (id, last_version, last_result, last_load_time, loads, reloads, last_error) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET "
                            "last_version = excluded.last_version, last_result = excluded.last_result, last_load_time = excluded.last_load_time, "
                            "loads = loads + excluded.loads, reloads = reloads + excluded.reloads, last_error = excluded.last_error");
        if (!statement.get()) {
            return statement.prepareCode();
        }
        bindText(statement.get(), 1, pluginId);
        bindText(statement.get(), 2, version);
        bindText(statement.get(), 3, error.isEmpty() ? QStringLiteral("loaded") : QStringLiteral("failed"));
        sqlite3_bind_int64(statement.get(), 4, time);
        sqlite3_bind_int(statement.get(), 5, reload ? 0 : 1);
        sqlite3_bind_int(statement.get(), 6, reload ? 1 : 0);
        if (error.isEmpty()) {
            sqlite3_bind_null(statement.get(), 7);
        } else {
            bindText(statement.get(), 7, error);
        }
        return statement.step();
    });
}

StorageError ProfileDatabase::saveState(const QString &pluginId, const QVariant &state)
{
    const QByteArray encoded = StorageInternal::encode(state);
    if (encoded.size() > maximumValueSize) {
        return tooLarge(QStringLiteral("the state on_unload() of %1 returned").arg(pluginId), encoded.size());
    }
    return write(d, [&](Connection &connection) {
        Statement statement(connection, "INSERT INTO plugins (id, saved_state) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET saved_state = excluded.saved_state");
        if (!statement.get()) {
            return statement.prepareCode();
        }
        bindText(statement.get(), 1, pluginId);
        sqlite3_bind_blob(statement.get(), 2, encoded.constData(), int(encoded.size()), SQLITE_STATIC);
        return statement.step();
    });
}

StorageError ProfileDatabase::takeState(const QString &pluginId, QVariant *state, bool *found)
{
    *found = false;
    *state = QVariant();
    return write(d, [&](Connection &connection) {
        Statement select(connection, "SELECT saved_state FROM plugins WHERE id = ?1 AND saved_state IS NOT NULL");
        if (!select.get()) {
            return select.prepareCode();
        }
        bindText(select.get(), 1, pluginId);
        int code = select.step();
        if (code != SQLITE_ROW) {
            return code;
        }
        *found = true;
        *state = decodeColumn(select.get(), 0);
        Statement clear(connection, "UPDATE plugins SET saved_state = NULL WHERE id = ?1");
        if (!clear.get()) {
            return clear.prepareCode();
        }
        bindText(clear.get(), 1, pluginId);
        return clear.step();
    });
}

StorageError ProfileDatabase::value(const QString &space, const QString &key, QVariant *value, bool *found)
{
    *found = false;
    if (StorageError error = StorageInternal::checkKey(key); error.isError()) {
        return error;
    }
    return read(d, [&](Connection &connection) {
        Statement statement(connection, "SELECT value FROM plugin_values WHERE plugin = ?1 AND key = ?2");
        if (!statement.get()) {
            return statement.prepareCode();
        }
        bindText(statement.get(), 1, space);
        bindText(statement.get(), 2, key);
        const int code = statement.step();
        if (code == SQLITE_ROW) {
            *found = true;
            if (value) {
                *value = decodeColumn(statement.get(), 0);
            }
        }
        return code;
    });
}

StorageError ProfileDatabase::setValue(const QString &space, const QString &key, const QVariant &value)
{
    if (StorageError error = StorageInternal::checkKey(key); error.isError()) {
        return error;
    }
    const QByteArray encoded = StorageInternal::encode(value);
    if (StorageError error = StorageInternal::checkValue(key, encoded); error.isError()) {
        return error;
    }
    return write(d, [&](Connection &connection) {
        return writeValue(connection, space, key, encoded);
    });
}

StorageError ProfileDatabase::removeValue(const QString &space, const QString &key, bool *existed)
{
    *existed = false;
    if (StorageError error = StorageInternal::checkKey(key); error.isError()) {
        return error;
    }
    return write(d, [&](Connection &connection) {
        const int code = writeValue(connection, space, key, std::nullopt);
        *existed = code == SQLITE_DONE && sqlite3_changes(connection.db) > 0;
        return code;
    });
}

StorageError ProfileDatabase::keys(const QString &space, QStringList *keys)
{
    keys->clear();
    return read(d, [&](Connection &connection) {
        Statement statement(connection, "SELECT key FROM plugin_values WHERE plugin = ?1 ORDER BY key");
        if (!statement.get()) {
            return statement.prepareCode();
        }
        bindText(statement.get(), 1, space);
        int code;
        while ((code = statement.step()) == SQLITE_ROW) {
            keys->append(columnText(statement.get(), 0));
        }
        return code;
    });
}

StorageError ProfileDatabase::count(const QString &space, qint64 *count)
{
    *count = 0;
    return read(d, [&](Connection &connection) {
        Statement statement(connection, "SELECT count(*) FROM plugin_values WHERE plugin = ?1");
        if (!statement.get()) {
            return statement.prepareCode();
        }
        bindText(statement.get(), 1, space);
        const int code = statement.step();
        if (code == SQLITE_ROW) {
            *count = sqlite3_column_int64(statement.get(), 0);
        }
        return code;
    });
}

StorageError ProfileDatabase::applyWrites(const QString &space, const PendingWrites &writes)
{
    if (writes.isEmpty()) {
        return {};
    }
    StorageError failure;
    const StorageError error = write(d, [&](Connection &connection) {
        int code = execute(connection.db, "BEGIN IMMEDIATE");
        if (code != SQLITE_OK) {
            return code;
        }
        connection.inTransaction = true;
        for (auto it = writes.cbegin(); it != writes.cend() && (code == SQLITE_OK || code == SQLITE_DONE); ++it) {
            code = writeValue(connection, space, it.key(), it.value());
        }
        if (code == SQLITE_OK || code == SQLITE_DONE) {
            code = execute(connection.db, "COMMIT");
        }
        if (code != SQLITE_OK) {
            failure = errorFrom(code, connection.db, d->filePath); // before ROLLBACK replaces the message
            sqlite3_exec(connection.db, "ROLLBACK", nullptr, nullptr, nullptr); // nothing half-done stays
        }
        connection.inTransaction = false;
        return code;
    });
    return failure.isError() ? failure : error;
}

} // namespace PluginHost
