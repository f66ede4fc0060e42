#pragma once

#include <QJsonValue>
#include <QString>
#include <QVariant>

/*
 * The headless host's JSON for the values that cross to and from plugins, lossless where plain
 * JSON is not (README, "The headless host"):
 *
 *   Python                     JSON
 *   bytes, pluginhost.Buffer   {"$bytes": "<base64>"}
 *   float nan, inf, -inf       {"$float": "nan"}, {"$float": "inf"}, {"$float": "-inf"}
 *   dict with one key "$…"     {"$dict": {"$…": …}}
 *
 * An object with exactly one member whose name starts with "$" is a tagged value; everything
 * else is plain JSON. --args reads what --call prints, and also {"$float": "2"}: Qt's JSON
 * reads 2.0 as an integer, so a whole float needs the tag.
 */
namespace JsonValues
{

QJsonValue toJson(const QVariant &value);

/// False, with *error saying what is wrong and where ("args[1][\"cover\"]"), when `json`
/// holds an unknown tag, a tag with the wrong content, or text with a lone surrogate.
bool fromJson(const QJsonValue &json, const QString &where, QVariant *value, QString *error);

} // namespace JsonValues
