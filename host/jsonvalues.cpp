#include "jsonvalues.h"

#include <PluginHost/Buffer>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>
#include <limits>

using namespace PluginHost;

namespace JsonValues
{

namespace
{
const QString bytesTag = QStringLiteral("$bytes");
const QString floatTag = QStringLiteral("$float");
const QString dictTag = QStringLiteral("$dict");

bool isTagged(const QJsonObject &object)
{
    return object.size() == 1 && object.begin().key().startsWith(QLatin1Char('$'));
}

QJsonValue bytesToJson(const QByteArray &bytes)
{
    return QJsonObject{{bytesTag, QString::fromLatin1(bytes.toBase64())}};
}

QJsonValue doubleToJson(double number)
{
    if (std::isnan(number)) {
        return QJsonObject{{floatTag, QStringLiteral("nan")}};
    }
    if (std::isinf(number)) {
        return QJsonObject{{floatTag, number > 0 ? QStringLiteral("inf") : QStringLiteral("-inf")}};
    }
    return number;
}

// For error messages: the JSON as written, shortened when long.
QString shown(const QJsonValue &json)
{
    const QString text = QString::fromUtf8(QJsonDocument(QJsonArray{json}).toJson(QJsonDocument::Compact).mid(1).chopped(1));
    return text.size() <= 80 ? text : text.left(77) + QStringLiteral("...");
}

bool failed(QString *error, const QString &where, const QString &what)
{
    *error = QStringLiteral("%1: %2").arg(where, what);
    return false;
}

bool textFromJson(const QString &text, const QString &where, QString *error)
{
    // JSON can spell a lone surrogate ("\ud800"), which the value converter would pass on as
    // U+FFFD: refused here, where the message can say where it sat.
    if (!text.isValidUtf16()) {
        return failed(error,
                      where,
                      QStringLiteral("the text holds a lone surrogate (a \\ud800-\\udfff escape without its pair), which is not Unicode text; "
                                     "pass bytes as {\"$bytes\": \"<base64>\"}"));
    }
    return true;
}

bool objectFromJson(const QJsonObject &object, const QString &where, QVariant *value, QString *error)
{
    QVariantMap map;
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString position = QStringLiteral("%1[\"%2\"]").arg(where, it.key());
        if (!textFromJson(it.key(), position, error)) {
            return false;
        }
        QVariant item;
        if (!fromJson(it.value(), position, &item, error)) {
            return false;
        }
        map.insert(it.key(), item);
    }
    *value = map;
    return true;
}

bool taggedFromJson(const QJsonObject &object, const QString &where, QVariant *value, QString *error)
{
    const QString tag = object.begin().key();
    const QJsonValue content = object.begin().value();
    if (tag == bytesTag) {
        const auto decoded = QByteArray::fromBase64Encoding(content.toString().toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
        if (!content.isString() || !decoded) {
            return failed(error, where, QStringLiteral("%1: $bytes takes base64 text, e.g. {\"$bytes\": \"AP8=\"} for b'\\x00\\xff'").arg(shown(object)));
        }
        *value = decoded.decoded;
        return true;
    }
    if (tag == floatTag) {
        const QString name = content.toString();
        bool isNumber = false;
        const double number = name.toDouble(&isNumber);
        if (name == QLatin1String("nan")) {
            *value = std::numeric_limits<double>::quiet_NaN();
        } else if (name == QLatin1String("inf")) {
            *value = std::numeric_limits<double>::infinity();
        } else if (name == QLatin1String("-inf")) {
            *value = -std::numeric_limits<double>::infinity();
        } else if (content.isString() && isNumber && std::isfinite(number)) {
            *value = number; // a whole number as a float: plain JSON reads 2.0 as the int 2
        } else {
            return failed(error,
                          where,
                          QStringLiteral("%1: $float takes \"nan\", \"inf\", \"-inf\" or a number as text (\"2\" for the float 2.0)").arg(shown(object)));
        }
        return true;
    }
    if (tag == dictTag) {
        if (!content.isObject()) {
            return failed(error, where, QStringLiteral("%1: $dict takes an object, e.g. {\"$dict\": {\"$key\": 1}}").arg(shown(object)));
        }
        return objectFromJson(content.toObject(), where, value, error);
    }
    return failed(error,
                  where,
                  QStringLiteral("%1: an object with one member named \"$…\" is a tagged value ($bytes, $float or $dict), and \"%2\" is none; "
                                 "write a dict with such a key as {\"$dict\": {…}}")
                      .arg(shown(object), tag));
}
} // namespace

QJsonValue toJson(const QVariant &value)
{
    switch (value.typeId()) {
    case QMetaType::QByteArray:
        return bytesToJson(value.toByteArray());
    case QMetaType::Double:
    case QMetaType::Float:
        return doubleToJson(value.toDouble());
    case QMetaType::QVariantList: {
        QJsonArray array;
        for (const QVariant &item : value.toList()) {
            array.append(toJson(item));
        }
        return array;
    }
    case QMetaType::QVariantMap: {
        QJsonObject object;
        const QVariantMap map = value.toMap();
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            object.insert(it.key(), toJson(it.value()));
        }
        return isTagged(object) ? QJsonObject{{dictTag, object}} : object;
    }
    default:
        break;
    }
    if (value.metaType() == QMetaType::fromType<Buffer>()) {
        return bytesToJson(value.value<Buffer>().data());
    }
    return QJsonValue::fromVariant(value);
}

bool fromJson(const QJsonValue &json, const QString &where, QVariant *value, QString *error)
{
    switch (json.type()) {
    case QJsonValue::Array: {
        const QJsonArray array = json.toArray();
        QVariantList list;
        list.reserve(array.size());
        for (qsizetype i = 0; i < array.size(); ++i) {
            QVariant item;
            if (!fromJson(array.at(i), QStringLiteral("%1[%2]").arg(where).arg(i), &item, error)) {
                return false;
            }
            list.append(item);
        }
        *value = list;
        return true;
    }
    case QJsonValue::Object: {
        const QJsonObject object = json.toObject();
        return isTagged(object) ? taggedFromJson(object, where, value, error) : objectFromJson(object, where, value, error);
    }
    case QJsonValue::String:
        if (!textFromJson(json.toString(), where, error)) {
            return false;
        }
        break;
    default:
        break;
    }
    *value = json.toVariant(); // integers stay integers, numbers with a fraction or exponent are floats
    return true;
}

} // namespace JsonValues
