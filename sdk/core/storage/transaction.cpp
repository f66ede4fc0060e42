// ProfileDatabase::Transaction: a namespace's writes kept in memory until the outermost level
// commits them in one short SQLite transaction (why: see the class in profiledatabase.h).
#include "profiledatabase_p.h"

#include <QSet>

namespace PluginHost
{

namespace
{
// What an entry of PendingWrites takes in memory, as maximumTransactionSize counts it.
qsizetype entrySize(qsizetype keySize, const std::optional<QByteArray> &encoded)
{
    return keySize + (encoded ? encoded->size() : 0);
}

qsizetype entrySize(const QString &key, const std::optional<QByteArray> &encoded)
{
    return entrySize(key.toUtf8().size(), encoded);
}
} // namespace

ProfileDatabase::Transaction::Transaction(std::shared_ptr<ProfileDatabase> database, const QString &space)
    : m_database(std::move(database))
    , m_space(space)
{
}

ProfileDatabase::Transaction::~Transaction() = default;
ProfileDatabase::Transaction::Transaction(Transaction &&) noexcept = default;
ProfileDatabase::Transaction &ProfileDatabase::Transaction::operator=(Transaction &&) noexcept = default;

void ProfileDatabase::Transaction::begin()
{
    m_levels.emplace_back();
}

StorageError ProfileDatabase::Transaction::end(bool commit)
{
    if (m_levels.empty()) {
        return {StorageError::Kind::Failed, QStringLiteral("no storage transaction is open")};
    }
    Level ended = std::move(m_levels.back());
    m_levels.pop_back();
    if (!commit) {
        return {};
    }
    if (m_levels.empty()) {
        return m_database->applyWrites(m_space, ended.writes);
    }
    Level &enclosing = m_levels.back();
    for (auto it = ended.writes.cbegin(); it != ended.writes.cend(); ++it) {
        const auto replaced = enclosing.writes.constFind(it.key());
        if (replaced != enclosing.writes.cend()) {
            enclosing.size -= entrySize(it.key(), replaced.value());
        }
        enclosing.writes.insert(it.key(), it.value());
        enclosing.size += entrySize(it.key(), it.value());
    }
    return {};
}

qsizetype ProfileDatabase::Transaction::size() const
{
    qsizetype total = 0;
    for (const Level &level : m_levels) {
        total += level.size;
    }
    return total;
}

const std::optional<QByteArray> *ProfileDatabase::Transaction::pending(const QString &key) const
{
    for (auto level = m_levels.crbegin(); level != m_levels.crend(); ++level) {
        const auto found = level->writes.constFind(key);
        if (found != level->writes.cend()) {
            return &found.value();
        }
    }
    return nullptr;
}

bool ProfileDatabase::Transaction::hasPendingWrites() const
{
    for (const Level &level : m_levels) {
        if (!level.writes.isEmpty()) {
            return true;
        }
    }
    return false;
}

StorageError ProfileDatabase::Transaction::value(const QString &key, QVariant *value, bool *found)
{
    const std::optional<QByteArray> *written = pending(key);
    if (!written) {
        return m_database->value(m_space, key, value, found);
    }
    *found = written->has_value();
    if (*found && value) {
        *value = StorageInternal::decode(**written);
    }
    return {};
}

StorageError ProfileDatabase::Transaction::setValue(const QString &key, const QVariant &value)
{
    if (m_levels.empty()) {
        return m_database->setValue(m_space, key, value);
    }
    qsizetype keySize = 0;
    if (StorageError error = StorageInternal::checkKey(key, &keySize); error.isError()) {
        return error;
    }
    std::optional<QByteArray> encoded = StorageInternal::encode(value);
    if (StorageError error = StorageInternal::checkValue(key, *encoded); error.isError()) {
        return error;
    }
    Level &level = m_levels.back();
    const auto replaced = level.writes.constFind(key);
    const qsizetype freed = replaced != level.writes.cend() ? entrySize(keySize, replaced.value()) : 0;
    const qsizetype added = entrySize(keySize, encoded);
    const qsizetype total = size() - freed + added;
    if (total > maximumTransactionSize) {
        constexpr double mebibyte = 1024 * 1024;
        return {StorageError::Kind::TooLarge,
                QStringLiteral("the value for '%1' would make this transaction hold %2 MiB until it commits; a transaction holds at most %3 MiB "
                               "(commit in smaller transactions, or keep large data in files under the plugin's data folder)")
                    .arg(key)
                    .arg(double(total) / mebibyte, 0, 'f', 1)
                    .arg(maximumTransactionSize / (1024 * 1024))};
    }
    level.writes.insert(key, std::move(encoded));
    level.size += added - freed;
    return {};
}

StorageError ProfileDatabase::Transaction::removeValue(const QString &key, bool *existed)
{
    if (m_levels.empty()) {
        return m_database->removeValue(m_space, key, existed);
    }
    qsizetype keySize = 0;
    if (StorageError error = StorageInternal::checkKey(key, &keySize); error.isError()) {
        return error;
    }
    if (StorageError error = value(key, nullptr, existed); error.isError() || !*existed) {
        return error;
    }
    Level &level = m_levels.back();
    const auto replaced = level.writes.constFind(key);
    if (replaced != level.writes.cend()) {
        level.size -= entrySize(keySize, replaced.value());
    }
    level.writes.insert(key, std::nullopt);
    level.size += entrySize(keySize, std::nullopt);
    return {};
}

StorageError ProfileDatabase::Transaction::keys(QStringList *keys)
{
    if (StorageError error = m_database->keys(m_space, keys); error.isError() || !hasPendingWrites()) {
        return error;
    }
    QSet<QString> merged(keys->cbegin(), keys->cend());
    for (const Level &level : m_levels) {
        for (auto it = level.writes.cbegin(); it != level.writes.cend(); ++it) {
            if (it.value()) {
                merged.insert(it.key());
            } else {
                merged.remove(it.key());
            }
        }
    }
    *keys = QStringList(merged.cbegin(), merged.cend());
    keys->sort();
    return {};
}

StorageError ProfileDatabase::Transaction::count(qint64 *count)
{
    if (!hasPendingWrites()) {
        return m_database->count(m_space, count);
    }
    QStringList merged;
    const StorageError error = keys(&merged);
    *count = merged.size();
    return error;
}

} // namespace PluginHost
