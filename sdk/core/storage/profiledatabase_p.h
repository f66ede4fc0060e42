// What profiledatabase.cpp and transaction.cpp share: how values are encoded and what is
// refused before anything reaches SQLite.
#pragma once

#include "profiledatabase.h"

#include <QByteArray>
#include <QString>
#include <QVariant>

namespace PluginHost::StorageInternal
{

/// The CBOR kept for `value`.
QByteArray encode(const QVariant &value);
QVariant decode(const QByteArray &encoded);

/// TooLarge when `key` is longer than ProfileDatabase::maximumKeySize in UTF-8; otherwise no
/// error, and `utf8Size` (when given) set to its size.
StorageError checkKey(const QString &key, qsizetype *utf8Size = nullptr);
/// TooLarge when the encoded value for `key` is larger than ProfileDatabase::maximumValueSize.
StorageError checkValue(const QString &key, const QByteArray &encoded);

} // namespace PluginHost::StorageInternal
