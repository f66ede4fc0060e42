#include "pluginmetadata.h"
#include "pluginmetadata_p.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <utility>

namespace PluginHost
{

class PluginMetaDataPrivate : public QSharedData
{
public:
    QString translated(QLatin1String key, const QLocale &locale) const;

    QJsonObject rawData;
    QJsonObject kplugin;
    QString id;
    QString version;
    QString license;
    QStringList authors;
    bool enabledByDefault = true;
    QString entryPoint;
    QStringList permissions;
    PluginMetaData::Isolation isolation = PluginMetaData::Isolation::Isolated;
    bool persistsState = false;
    QString directory;
};

namespace
{
constexpr QLatin1String MetaDataFileName("metadata.json");
constexpr QLatin1String SchemaHint("see share/pluginhost/metadata.schema.json in the PluginHost SDK");

constexpr QLatin1String KPluginKey("KPlugin");
constexpr QLatin1String IdKey("Id");
constexpr QLatin1String NameKey("Name");
constexpr QLatin1String DescriptionKey("Description");
constexpr QLatin1String VersionKey("Version");
constexpr QLatin1String LicenseKey("License");
constexpr QLatin1String AuthorsKey("Authors");
constexpr QLatin1String EnabledByDefaultKey("EnabledByDefault");

constexpr QLatin1String HostKeyPrefix("X-PluginHost-");
constexpr QLatin1String ApiVersionKey("X-PluginHost-ApiVersion");
constexpr QLatin1String EntryPointKey("X-PluginHost-EntryPoint");
constexpr QLatin1String PermissionsKey("X-PluginHost-Permissions");
constexpr QLatin1String IsolationKey("X-PluginHost-Isolation");
constexpr QLatin1String PersistStateKey("X-PluginHost-PersistState");

constexpr QLatin1String IsolatedValue("isolated");
constexpr QLatin1String SharedValue("shared");

// Bounds for what a plugin folder may make the host read, keep and show. Names and ids end
// up in lists, log lines and window titles; the file bound comes first, before any parsing.
constexpr qint64 MaxFileSize = 1024 * 1024;
constexpr qsizetype MaxIdLength = 128;
constexpr qsizetype MaxNameLength = 256;
constexpr qsizetype MaxDescriptionLength = 4096;
constexpr qsizetype MaxVersionLength = 128;
constexpr qsizetype MaxLicenseLength = 256;
constexpr qsizetype MaxAuthorNameLength = 256;
constexpr qsizetype MaxEntryPointLength = 256;
constexpr qsizetype MaxAuthors = 100;
constexpr qsizetype MaxPermissions = 16;
// How much of a rejected value an error message quotes.
constexpr qsizetype MaxQuotedLength = 80;

// Reverse-DNS: two or more non-empty parts of ASCII letters, digits, '_' and '-', separated by
// single dots. Ids name folders (the plugin's data_dir) and logging categories, so no part may be
// "." or "..", and nothing may be a path separator or a control character.
constexpr QLatin1String IdPattern("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)+");

const QStringList &knownPermissions()
{
    static const QStringList permissions{QStringLiteral("network"), QStringLiteral("subprocess"), QStringLiteral("filesystem"), QStringLiteral("native")};
    return permissions;
}

const QStringList &knownHostKeys()
{
    static const QStringList keys{ApiVersionKey, EntryPointKey, PermissionsKey, IsolationKey, PersistStateKey};
    return keys;
}

QString absoluteCleanPath(const QString &path)
{
    return QDir::cleanPath(QFileInfo(path).absoluteFilePath());
}

bool isAsciiLetterOrDigit(uint character)
{
    return (character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') || (character >= '0' && character <= '9');
}

// Characters counted as JSON Schema's maxLength counts them: code points, not UTF-16 units.
qsizetype characterCount(const QString &text)
{
    return text.size() - std::count_if(text.cbegin(), text.cend(), [](QChar c) {
               return c.isLowSurrogate();
           });
}

// `text` in double quotes, as it would be written in JSON, for a message: whatever a hostile
// file holds (a NUL, a newline, a bidirectional override, megabytes) neither truncates, splits
// nor floods the message. Characters that do not print are written as \uXXXX escapes, and a long
// text is cut after MaxQuotedLength characters, saying how long it was.
QString quoted(const QString &text)
{
    QString result(1, u'"');
    // Two UTF-16 units at most per character: enough for what is shown, and no more.
    const QList<uint> characters = QStringView(text).left(2 * MaxQuotedLength).toUcs4();
    const qsizetype shown = std::min<qsizetype>(characters.size(), MaxQuotedLength);
    for (qsizetype i = 0; i < shown; ++i) {
        const char32_t character = characters.at(i);
        if (character == u'"' || character == u'\\') {
            result += u'\\';
            result += QChar::fromUcs4(character);
        } else if (QChar::isPrint(character)) {
            result += QChar::fromUcs4(character);
        } else {
            for (const char16_t unit : QChar::fromUcs4(character)) {
                result += QStringLiteral("\\u%1").arg(uint(unit), 4, 16, QLatin1Char('0'));
            }
        }
    }
    result += u'"';
    if (shown < characters.size()) {
        result += QStringLiteral("… (%1 characters)").arg(characterCount(text));
    }
    return result;
}

QString number(double value)
{
    // Shortest text that reads back as the same double: 1.0000000001 stays 1.0000000001.
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

// "a string ("abc")", "a number (1.5)", "an array": for "must be X, not <this>".
QString describe(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::String:
        return QStringLiteral("a string (%1)").arg(quoted(value.toString()));
    case QJsonValue::Double:
        return QStringLiteral("a number (%1)").arg(number(value.toDouble()));
    case QJsonValue::Bool:
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("null");
}

// Qt's own texts go through QCoreApplication::translate; these messages stay untranslated.
QString describe(QJsonParseError::ParseError error)
{
    switch (error) {
    case QJsonParseError::NoError:
        break;
    case QJsonParseError::UnterminatedObject:
        return QStringLiteral("unterminated object (missing '}' or ',')");
    case QJsonParseError::MissingNameSeparator:
        return QStringLiteral("missing ':' after a key");
    case QJsonParseError::UnterminatedArray:
        return QStringLiteral("unterminated array (missing ']' or ',')");
    case QJsonParseError::MissingValueSeparator:
        return QStringLiteral("missing ',' between values");
    case QJsonParseError::IllegalValue:
        return QStringLiteral("illegal value");
    case QJsonParseError::TerminationByNumber:
        return QStringLiteral("the file ends in a number");
    case QJsonParseError::IllegalNumber:
        return QStringLiteral("illegal number or text without double quotes");
    case QJsonParseError::IllegalEscapeSequence:
        return QStringLiteral("illegal escape sequence");
    case QJsonParseError::IllegalUTF8String:
        return QStringLiteral("invalid UTF-8 in a string");
    case QJsonParseError::UnterminatedString:
        return QStringLiteral("unterminated string");
    case QJsonParseError::MissingObject:
        return QStringLiteral("a value is missing (JSON allows no comma after the last item)");
    case QJsonParseError::DeepNesting:
        return QStringLiteral("too deeply nested");
    case QJsonParseError::DocumentTooLarge:
        return QStringLiteral("the document is too large");
    case QJsonParseError::GarbageAtEnd:
        return QStringLiteral("unexpected text after the end of the top-level object");
    }
    return QStringLiteral("syntax error");
}

// Where the parser gave up, as "line:column" counting characters from 1. Qt's offset counts
// bytes and lies just past the character it could not accept, except for the errors below,
// where it lies on that character, and at the end of the text, where we point just past the
// last character that is not white space.
QString errorLocation(const QByteArray &text, const QJsonParseError &error)
{
    qsizetype position = error.offset;
    if (position >= text.size()) {
        position = text.size();
        while (position > 0 && QByteArrayView(" \t\r\n").contains(text.at(position - 1))) {
            --position;
        }
    } else if (error.error != QJsonParseError::GarbageAtEnd && error.error != QJsonParseError::IllegalNumber
               && error.error != QJsonParseError::IllegalUTF8String && error.error != QJsonParseError::IllegalEscapeSequence) {
        position = std::max<qsizetype>(position - 1, 0);
    }
    const QByteArray before = text.left(position);
    qsizetype lineStart = before.lastIndexOf('\n') + 1;
    if (lineStart == 0 && before.startsWith("\xEF\xBB\xBF")) {
        lineStart = 3; // a UTF-8 byte order mark is no column
    }
    const qsizetype line = before.count('\n') + 1;
    const qsizetype column = QString::fromUtf8(before.mid(lineStart)).toUcs4().size() + 1;
    return QStringLiteral("%1:%2").arg(line).arg(column);
}

class Reader
{
public:
    explicit Reader(const QString &directory)
        : m_directory(directory)
        , m_file(QDir(directory).filePath(MetaDataFileName))
    {
    }

    bool read(const QJsonObject &json, PluginMetaDataPrivate &data);

    QString errorText;

private:
    enum class Presence { Optional, Required };
    bool fail(const QString &key, const QString &problem);
    bool readString(const QJsonObject &object, QLatin1String key, Presence presence, qsizetype maxLength, const QString &example, QString *value);
    bool checkLength(const QString &keyPath, const QString &value, qsizetype maxLength);
    bool checkId(const QString &id);
    bool readApiVersion(const QJsonObject &json);
    bool checkHostKeyNames(const QJsonObject &json);
    bool readKPlugin(const QJsonObject &kplugin, PluginMetaDataPrivate &data);
    bool readAuthors(const QJsonValue &authors, QStringList *names);
    bool readEntryPoint(const QJsonObject &json, QString *entryPoint);
    bool readPermissions(const QJsonValue &permissions, QStringList *names);
    bool readIsolation(const QJsonValue &isolation, PluginMetaData::Isolation *level);
    bool readPersistState(const QJsonValue &persist, bool *persistsState);

    const QString m_directory;
    const QString m_file;
};

bool Reader::fail(const QString &key, const QString &problem)
{
    errorText = QStringLiteral("%1: %2: %3").arg(m_file, key, problem);
    return false;
}

bool Reader::checkLength(const QString &keyPath, const QString &value, qsizetype maxLength)
{
    const qsizetype length = characterCount(value);
    if (length <= maxLength) {
        return true;
    }
    return fail(keyPath,
                QStringLiteral("is %1 characters long; the limit is %2 characters. Shorten it (it starts %3…)")
                    .arg(length)
                    .arg(maxLength)
                    .arg(quoted(QStringView(value).left(MaxQuotedLength / 2).toString())));
}

// Keys under KPlugin are reported as "KPlugin.<key>", top-level keys as themselves.
bool Reader::readString(const QJsonObject &object, QLatin1String key, Presence presence, qsizetype maxLength, const QString &example, QString *value)
{
    const QString keyPath = key.startsWith(HostKeyPrefix) ? QString(key) : QString(KPluginKey + u'.' + key);
    const QString hint = QStringLiteral("write e.g. \"%1\": %2").arg(key, example);
    const QJsonValue json = object.value(key);
    if (json.isUndefined()) {
        if (presence == Presence::Optional) {
            return true;
        }
        return fail(keyPath, QStringLiteral("missing; %1").arg(hint));
    }
    if (!json.isString()) {
        return fail(keyPath, QStringLiteral("must be a string, not %1; %2").arg(describe(json), hint));
    }
    *value = json.toString();
    if (presence == Presence::Required && value->isEmpty()) {
        return fail(keyPath, QStringLiteral("is empty; %1").arg(hint));
    }
    return checkLength(keyPath, *value, maxLength);
}

bool Reader::read(const QJsonObject &json, PluginMetaDataPrivate &data)
{
    // The API version comes first: a plugin written for another one may use keys this host does not know.
    if (!readApiVersion(json) || !checkHostKeyNames(json)) {
        return false;
    }
    const QJsonValue kplugin = json.value(KPluginKey);
    const QString kpluginHint = QStringLiteral("write e.g. \"KPlugin\": {\"Id\": \"org.example.echo\", \"Name\": \"Echo\", \"Version\": \"1.0.0\"}");
    if (kplugin.isUndefined()) {
        return fail(KPluginKey, QStringLiteral("missing; %1").arg(kpluginHint));
    }
    if (!kplugin.isObject()) {
        return fail(KPluginKey, QStringLiteral("must be an object, not %1; %2").arg(describe(kplugin), kpluginHint));
    }
    data.rawData = json;
    data.kplugin = kplugin.toObject();
    data.directory = m_directory;
    return readKPlugin(data.kplugin, data) && readEntryPoint(json, &data.entryPoint) && readPermissions(json.value(PermissionsKey), &data.permissions)
        && readIsolation(json.value(IsolationKey), &data.isolation) && readPersistState(json.value(PersistStateKey), &data.persistsState);
}

bool Reader::readApiVersion(const QJsonObject &json)
{
    const QJsonValue version = json.value(ApiVersionKey);
    const QString hint = QStringLiteral("write \"%1\": %2").arg(ApiVersionKey).arg(PluginMetaData::currentApiVersion);
    if (version.isUndefined()) {
        return fail(ApiVersionKey, QStringLiteral("missing; %1").arg(hint));
    }
    // QJsonValue reports every JSON number as a double, 1.0000000001 too. Any fraction, however
    // small, makes it no integer; 1.0 is one, as for JSON Schema's "integer".
    const double value = version.toDouble();
    if (!version.isDouble() || !std::isfinite(value) || std::trunc(value) != value) {
        return fail(ApiVersionKey, QStringLiteral("must be an integer, not %1; %2").arg(describe(version), hint));
    }
    if (value != PluginMetaData::currentApiVersion) {
        return fail(ApiVersionKey,
                    QStringLiteral("the plugin needs API version %1, but this host supports API version %2 only; "
                                   "update the host to one that supports API version %1, or use a version of the plugin made for API version %2")
                        .arg(number(value))
                        .arg(PluginMetaData::currentApiVersion));
    }
    return true;
}

bool Reader::checkHostKeyNames(const QJsonObject &json)
{
    for (auto it = json.constBegin(); it != json.constEnd(); ++it) {
        const QString key = it.key();
        if (!key.startsWith(HostKeyPrefix, Qt::CaseInsensitive) || knownHostKeys().contains(key)) {
            continue;
        }
        for (const QString &known : knownHostKeys()) {
            if (key.compare(known, Qt::CaseInsensitive) == 0) {
                return fail(key, QStringLiteral("unknown key; keys are case-sensitive, write %1").arg(quoted(known)));
            }
        }
        return fail(key,
                    QStringLiteral("unknown key; the keys starting with \"%1\" are %2. Fix the spelling, or give an application-specific key another prefix")
                        .arg(HostKeyPrefix, knownHostKeys().join(QStringLiteral(", "))));
    }
    return true;
}

bool Reader::readKPlugin(const QJsonObject &kplugin, PluginMetaDataPrivate &data)
{
    static const QRegularExpression translatedKey(QRegularExpression::anchoredPattern(QStringLiteral("(%1|%2)\\[[^\\]]+\\]").arg(NameKey, DescriptionKey)));

    QString name;
    QString description;
    if (!readString(kplugin, IdKey, Presence::Required, MaxIdLength, QStringLiteral("\"org.example.echo\""), &data.id) || !checkId(data.id)) {
        return false;
    }
    if (!readString(kplugin, NameKey, Presence::Required, MaxNameLength, QStringLiteral("\"Echo\""), &name)
        || !readString(kplugin, VersionKey, Presence::Required, MaxVersionLength, QStringLiteral("\"1.0.0\""), &data.version)
        || !readString(kplugin, DescriptionKey, Presence::Optional, MaxDescriptionLength, QStringLiteral("\"Repeats messages\""), &description)
        || !readString(kplugin, LicenseKey, Presence::Optional, MaxLicenseLength, QStringLiteral("\"MIT\""), &data.license)
        || !readAuthors(kplugin.value(AuthorsKey), &data.authors)) {
        return false;
    }
    for (auto it = kplugin.constBegin(); it != kplugin.constEnd(); ++it) {
        if (!translatedKey.match(it.key()).hasMatch()) {
            continue;
        }
        const QString keyPath = KPluginKey + u'.' + it.key();
        if (!it.value().isString()) {
            return fail(keyPath, QStringLiteral("must be a string, not %1; write the translated text, e.g. %2: \"Echo\"").arg(describe(it.value()), quoted(it.key())));
        }
        if (!checkLength(keyPath, it.value().toString(), it.key().startsWith(NameKey) ? MaxNameLength : MaxDescriptionLength)) {
            return false;
        }
    }
    const QJsonValue enabled = kplugin.value(EnabledByDefaultKey);
    if (!enabled.isUndefined() && !enabled.isBool()) {
        return fail(KPluginKey + u'.' + EnabledByDefaultKey,
                    QStringLiteral("must be true or false (without quotes), not %1; write e.g. \"%2\": true").arg(describe(enabled), EnabledByDefaultKey));
    }
    data.enabledByDefault = enabled.toBool(true);
    return true;
}

// The pattern decides; the rest only says which of its rules the id breaks.
bool Reader::checkId(const QString &id)
{
    static const QRegularExpression validId(QRegularExpression::anchoredPattern(IdPattern));
    if (validId.match(id).hasMatch()) {
        return true;
    }
    const QList<uint> characters = id.toUcs4();
    const auto hidden = std::find_if(characters.cbegin(), characters.cend(), [](uint character) {
        return !QChar::isPrint(character);
    });
    const auto unusable = std::find_if(characters.cbegin(), characters.cend(), [](uint character) {
        return !(isAsciiLetterOrDigit(character) || character == '.' || character == '_' || character == '-');
    });
    auto codePoint = [](uint character) {
        return QStringLiteral("U+%1").arg(QString::number(character, 16).rightJustified(4, u'0').toUpper());
    };
    QString problem;
    if (id == QLatin1String(".") || id == QLatin1String("..")) {
        problem = QStringLiteral("is a folder name (the current or the parent folder), not an id");
    } else if (hidden != characters.cend()) {
        problem = QStringLiteral("contains a character that does not print (%1)").arg(codePoint(*hidden));
    } else if (id.contains(u'/') || id.contains(u'\\')) {
        problem = QStringLiteral("contains a path separator; an id is a name, not a path");
    } else if (unusable != characters.cend()) {
        problem = QStringLiteral("contains %1 (%2), which an id cannot hold").arg(quoted(QStringView(QChar::fromUcs4(*unusable)).toString()), codePoint(*unusable));
    } else if (!id.contains(u'.')) {
        problem = QStringLiteral("has one part only; ids are reverse domain names of two or more parts, e.g. \"org.example.%1\"").arg(id);
    } else {
        problem = QStringLiteral("has an empty part (a '.' at the start or the end, or two in a row)");
    }
    return fail(KPluginKey + u'.' + IdKey,
                QStringLiteral("%1 %2; write two or more parts of ASCII letters, digits, '_' and '-', separated by single dots, e.g. \"org.example.echo\"")
                    .arg(quoted(id), problem));
}

bool Reader::readAuthors(const QJsonValue &authors, QStringList *names)
{
    const QString keyPath = KPluginKey + u'.' + AuthorsKey;
    const QString hint = QStringLiteral("write e.g. \"Authors\": [{\"Name\": \"Ada\"}]");
    if (authors.isUndefined()) {
        return true;
    }
    if (!authors.isArray()) {
        return fail(keyPath, QStringLiteral("must be an array of objects, not %1; %2").arg(describe(authors), hint));
    }
    const QJsonArray entries = authors.toArray();
    if (entries.size() > MaxAuthors) {
        return fail(keyPath, QStringLiteral("has %1 entries; the limit is %2. List the main authors, and the others in the plugin's own files").arg(entries.size()).arg(MaxAuthors));
    }
    for (qsizetype i = 0; i < entries.size(); ++i) {
        const QString entryPath = QStringLiteral("%1[%2]").arg(keyPath).arg(i);
        if (!entries.at(i).isObject()) {
            return fail(entryPath, QStringLiteral("must be an object, not %1; %2").arg(describe(entries.at(i)), hint));
        }
        const QJsonValue name = entries.at(i).toObject().value(NameKey);
        if (!name.isString() || name.toString().isEmpty()) {
            const QString problem = name.isUndefined() ? QStringLiteral("missing") : QStringLiteral("must be a non-empty string, not %1").arg(describe(name));
            return fail(entryPath + u'.' + NameKey, QStringLiteral("%1; %2").arg(problem, hint));
        }
        if (!checkLength(entryPath + u'.' + NameKey, name.toString(), MaxAuthorNameLength)) {
            return false;
        }
        names->append(name.toString());
    }
    return true;
}

bool Reader::readEntryPoint(const QJsonObject &json, QString *entryPoint)
{
    static const QRegularExpression moduleName(QRegularExpression::anchoredPattern(QStringLiteral("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*")));

    if (!readString(json, EntryPointKey, Presence::Required, MaxEntryPointLength, QStringLiteral("\"echo\" for the package echo/ or the module echo.py"), entryPoint)) {
        return false;
    }
    if (!moduleName.match(*entryPoint).hasMatch()) {
        return fail(EntryPointKey,
                    QStringLiteral("%1 is not a Python module name; use identifiers (ASCII letters, digits and '_', not starting with a digit) "
                                   "separated by dots, e.g. \"echo\" or \"echo.main\"")
                        .arg(quoted(*entryPoint)));
    }
    if (entryPoint->section(u'.', 0, 0) == QLatin1String("pluginhost")) {
        return fail(EntryPointKey,
                    QStringLiteral("%1: \"pluginhost\" is the SDK's own module and cannot be a plugin's package; rename the plugin's package")
                        .arg(quoted(*entryPoint)));
    }
    const QString modulePath = QDir(m_directory).filePath(QString(*entryPoint).replace(u'.', u'/'));
    const QString package = modulePath + QLatin1String("/__init__.py");
    const QString module = modulePath + QLatin1String(".py");
    if (!QFileInfo(package).isFile() && !QFileInfo(module).isFile()) {
        return fail(EntryPointKey,
                    QStringLiteral("module %1 not found; expected %2 or %3. Create it, or name the plugin's module in %4")
                        .arg(quoted(*entryPoint), package, module, EntryPointKey));
    }
    return true;
}

bool Reader::readPermissions(const QJsonValue &permissions, QStringList *names)
{
    const QString known = QStringLiteral("the known permissions are %1").arg(knownPermissions().join(QStringLiteral(", ")));
    if (permissions.isUndefined()) {
        return true;
    }
    if (!permissions.isArray()) {
        return fail(
            PermissionsKey,
            QStringLiteral("must be an array of strings, not %1; write e.g. \"%2\": [\"network\"] (%3)").arg(describe(permissions), PermissionsKey, known));
    }
    const QJsonArray entries = permissions.toArray();
    if (entries.size() > MaxPermissions) {
        return fail(PermissionsKey, QStringLiteral("has %1 entries; the limit is %2. Name each permission once (%3)").arg(entries.size()).arg(MaxPermissions).arg(known));
    }
    for (qsizetype i = 0; i < entries.size(); ++i) {
        const QString entryPath = QStringLiteral("%1[%2]").arg(PermissionsKey).arg(i);
        const QString permission = entries.at(i).toString();
        if (!entries.at(i).isString()) {
            return fail(entryPath, QStringLiteral("must be a string, not %1; %2").arg(describe(entries.at(i)), known));
        }
        if (!knownPermissions().contains(permission)) {
            return fail(entryPath, QStringLiteral("unknown permission %1; %2").arg(quoted(permission), known));
        }
        if (!names->contains(permission)) {
            names->append(permission);
        }
    }
    return true;
}

bool Reader::readIsolation(const QJsonValue &isolation, PluginMetaData::Isolation *level)
{
    if (isolation.isUndefined() || isolation.toString() == IsolatedValue) {
        *level = PluginMetaData::Isolation::Isolated;
        return true;
    }
    if (isolation.toString() == SharedValue) {
        *level = PluginMetaData::Isolation::Shared;
        return true;
    }
    return fail(IsolationKey,
                QStringLiteral("%1 is not an isolation level; write \"%2\" (the default: the plugin gets its own GIL) or \"%3\" "
                               "(shares the main GIL, for extension modules that support subinterpreters but not a GIL of their own)")
                    .arg(isolation.isString() ? quoted(isolation.toString()) : describe(isolation), IsolatedValue, SharedValue));
}

bool Reader::readPersistState(const QJsonValue &persist, bool *persistsState)
{
    if (!persist.isUndefined() && !persist.isBool()) {
        return fail(PersistStateKey,
                    QStringLiteral("must be true or false (without quotes), not %1; write e.g. \"%2\": true").arg(describe(persist), PersistStateKey));
    }
    *persistsState = persist.toBool(false);
    return true;
}

} // namespace

QString PluginMetaDataPrivate::translated(QLatin1String key, const QLocale &locale) const
{
    const QString localeName = locale.name();
    const QString language = localeName.section(u'_', 0, 0);
    QStringList candidates{QStringLiteral("%1[%2]").arg(key, localeName)};
    if (language != localeName) {
        candidates.append(QStringLiteral("%1[%2]").arg(key, language));
    }
    candidates.append(key);
    for (const QString &candidate : std::as_const(candidates)) {
        const QString text = kplugin.value(candidate).toString();
        if (!text.isEmpty()) {
            return text;
        }
    }
    return {};
}

PluginMetaData::PluginMetaData() = default;
PluginMetaData::PluginMetaData(const PluginMetaData &other) = default;
PluginMetaData::PluginMetaData(PluginMetaData &&other) noexcept = default;
PluginMetaData &PluginMetaData::operator=(const PluginMetaData &other) = default;
PluginMetaData &PluginMetaData::operator=(PluginMetaData &&other) noexcept = default;
PluginMetaData::~PluginMetaData() = default;

PluginMetaData PluginMetaData::fromDirectory(const QString &directory, QString *errorText)
{
    const QString path = absoluteCleanPath(directory);
    const QString file = QDir(path).filePath(MetaDataFileName);
    auto failed = [errorText](const QString &message) {
        if (errorText) {
            *errorText = message;
        }
        return PluginMetaData();
    };

    if (directory.isEmpty() || !QFileInfo(path).isDir()) {
        return failed(QStringLiteral("%1: no such folder; pass the folder that holds the plugin's metadata.json")
                          .arg(directory.isEmpty() ? QStringLiteral("\"\"") : path));
    }
    if (!QFileInfo::exists(file)) {
        return failed(QStringLiteral("%1: no metadata.json; a plugin folder needs one (%2)").arg(path, SchemaHint));
    }
    if (!QFileInfo(file).isFile()) {
        return failed(QStringLiteral("%1: not a file; metadata.json must be a file with the plugin's metadata (%2)").arg(file, SchemaHint));
    }
    QFile input(file);
    if (!input.open(QIODevice::ReadOnly)) {
        return failed(QStringLiteral("%1: cannot be read (%2); check the file's permissions").arg(file, input.errorString()));
    }
    // Read no more than the limit allows, whatever size the file claims or grows to meanwhile.
    const QByteArray text = input.read(MaxFileSize + 1);
    if (text.size() > MaxFileSize) {
        return failed(QStringLiteral("%1: the file is larger than %2 MiB, the limit for metadata.json; keep only the plugin's metadata in it, "
                                     "and anything larger in the plugin's own files")
                          .arg(file)
                          .arg(MaxFileSize / (1024 * 1024)));
    }
    if (text.trimmed().isEmpty()) {
        return failed(QStringLiteral("%1: the file is empty; write a JSON object with the plugin's metadata (%2)").arg(file, SchemaHint));
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(text, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        return failed(QStringLiteral("%1:%2: %3; metadata.json must be valid JSON (no comments, no trailing commas)")
                          .arg(file, errorLocation(text, parseError), describe(parseError.error)));
    }
    if (!document.isObject()) {
        return failed(QStringLiteral("%1: top level: must be an object, not an array; write {\"KPlugin\": {…}, \"X-PluginHost-ApiVersion\": 1, …}").arg(file));
    }
    return fromJson(document.object(), path, errorText);
}

PluginMetaData PluginMetaData::fromJson(const QJsonObject &json, const QString &directory, QString *errorText)
{
    if (directory.isEmpty()) {
        if (errorText) {
            *errorText = QStringLiteral("PluginMetaData::fromJson: no plugin folder given; pass the folder that holds the plugin");
        }
        return {};
    }
    Reader reader(absoluteCleanPath(directory));
    QExplicitlySharedDataPointer<PluginMetaDataPrivate> data(new PluginMetaDataPrivate);
    if (!reader.read(json, *data)) {
        if (errorText) {
            *errorText = reader.errorText;
        }
        return {};
    }
    if (errorText) {
        errorText->clear();
    }
    PluginMetaData result;
    result.d = data;
    return result;
}

PluginMetaData::Discovery PluginMetaData::discover(const QStringList &searchPaths)
{
    Discovery result;
    QStringList searched;
    QHash<QString, QString> directoryById; // the folder that provides each id
    for (const QString &searchPath : searchPaths) {
        const QString path = absoluteCleanPath(searchPath);
        if (searchPath.isEmpty() || searched.contains(path) || !QFileInfo(path).isDir()) {
            continue;
        }
        searched.append(path);
        const QDir folder(path);
        const QStringList names = folder.entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden, QDir::Name);

        // All of this search path is read first: the folder that sorts first must not get an id
        // that another folder of the same path claims too.
        struct Candidate {
            QString directory;
            PluginMetaData metaData;
            QString errorText;
        };
        QList<Candidate> candidates;
        QHash<QString, QStringList> directoriesById;
        for (const QString &name : names) {
            if (name.startsWith(u'.') || name == QLatin1String("__pycache__")) {
                continue;
            }
            Candidate candidate{folder.filePath(name), {}, {}};
            candidate.metaData = fromDirectory(candidate.directory, &candidate.errorText);
            if (candidate.metaData.isValid()) {
                directoriesById[candidate.metaData.id()].append(candidate.directory);
            }
            candidates.append(candidate);
        }

        for (const auto &[directory, metaData, errorText] : std::as_const(candidates)) {
            if (!metaData.isValid()) {
                result.failures.append({directory, errorText});
                continue;
            }
            const QStringList sameId = directoriesById.value(metaData.id());
            if (sameId.size() > 1) {
                QStringList others = sameId;
                others.removeOne(directory);
                result.failures.append({directory,
                                        QStringLiteral("%1: %2.%3: %4 is also the id of the plugin in %5, in the same search path; none of them is "
                                                       "loaded. Remove all but one of these folders, or give each plugin its own id")
                                            .arg(metaData.metaDataFile(), KPluginKey, IdKey, quoted(metaData.id()), others.join(QLatin1String(" and ")))});
                continue;
            }
            const QString usedDirectory = directoryById.value(metaData.id());
            if (!usedDirectory.isEmpty()) {
                result.shadowed.append({directory,
                                        metaData.id(),
                                        usedDirectory,
                                        QStringLiteral("%1: %2.%3: %4 is shadowed by the plugin in %5, in an earlier search path, which is used "
                                                       "instead. Remove one of the two folders if this is not meant to override it")
                                            .arg(metaData.metaDataFile(), KPluginKey, IdKey, quoted(metaData.id()), usedDirectory)});
                continue;
            }
            directoryById.insert(metaData.id(), directory);
            result.plugins.append(metaData);
        }
    }
    return result;
}

bool PluginMetaData::isValid() const
{
    return bool(d);
}

QString PluginMetaData::id() const
{
    return d ? d->id : QString();
}

QString PluginMetaData::name() const
{
    return name(QLocale());
}

QString PluginMetaData::name(const QLocale &locale) const
{
    return d ? d->translated(NameKey, locale) : QString();
}

QString PluginMetaData::description() const
{
    return description(QLocale());
}

QString PluginMetaData::description(const QLocale &locale) const
{
    return d ? d->translated(DescriptionKey, locale) : QString();
}

QString PluginMetaData::version() const
{
    return d ? d->version : QString();
}

QString PluginMetaData::license() const
{
    return d ? d->license : QString();
}

QStringList PluginMetaData::authors() const
{
    return d ? d->authors : QStringList();
}

bool PluginMetaData::isEnabledByDefault() const
{
    return d && d->enabledByDefault;
}

int PluginMetaData::apiVersion() const
{
    return d ? currentApiVersion : 0;
}

QString PluginMetaData::entryPoint() const
{
    return d ? d->entryPoint : QString();
}

QStringList PluginMetaData::permissions() const
{
    return d ? d->permissions : QStringList();
}

PluginMetaData::Isolation PluginMetaData::isolation() const
{
    return d ? d->isolation : Isolation::Isolated;
}

bool PluginMetaData::persistsState() const
{
    return d && d->persistsState;
}

QString PluginMetaData::directory() const
{
    return d ? d->directory : QString();
}

QString PluginMetaData::metaDataFile() const
{
    return d ? QDir(d->directory).filePath(MetaDataFileName) : QString();
}

QJsonObject PluginMetaData::rawData() const
{
    return d ? d->rawData : QJsonObject();
}

bool PluginMetaData::operator==(const PluginMetaData &other) const
{
    if (!d || !other.d) {
        return d == other.d;
    }
    return d->id == other.d->id && d->version == other.d->version && d->directory == other.d->directory;
}

PluginMetaDataInternal::KnownKeys PluginMetaDataInternal::knownKeys()
{
    KnownKeys keys;
    keys.kpluginKeys = QStringList{IdKey, NameKey, DescriptionKey, VersionKey, LicenseKey, AuthorsKey, EnabledByDefaultKey};
    keys.requiredKPluginKeys = QStringList{IdKey, NameKey, VersionKey};
    keys.translatableKPluginKeys = QStringList{NameKey, DescriptionKey};
    keys.hostKeys = knownHostKeys();
    keys.requiredHostKeys = QStringList{ApiVersionKey, EntryPointKey};
    keys.permissions = knownPermissions();
    keys.isolations = QStringList{IsolatedValue, SharedValue};
    keys.idPattern = QStringLiteral("^%1$").arg(IdPattern);
    const QString kplugin = KPluginKey + u'.';
    keys.maxLengths = {
        {kplugin + IdKey, MaxIdLength},
        {kplugin + NameKey, MaxNameLength},
        {kplugin + NameKey + QLatin1String("[]"), MaxNameLength},
        {kplugin + DescriptionKey, MaxDescriptionLength},
        {kplugin + DescriptionKey + QLatin1String("[]"), MaxDescriptionLength},
        {kplugin + VersionKey, MaxVersionLength},
        {kplugin + LicenseKey, MaxLicenseLength},
        {kplugin + AuthorsKey + QLatin1String("[].") + NameKey, MaxAuthorNameLength},
        {EntryPointKey, MaxEntryPointLength},
    };
    keys.maxItems = {{kplugin + AuthorsKey, MaxAuthors}, {PermissionsKey, MaxPermissions}};
    keys.maxFileSize = MaxFileSize;
    return keys;
}

QString PluginMetaDataInternal::folderForId(const QString &parent, const QString &id)
{
    if (parent.isEmpty() || id.isEmpty() || id.contains(QChar(u'\0'))) {
        return {};
    }
    const QString base = QDir::cleanPath(parent);
    const QString prefix = base.endsWith(u'/') ? base : base + u'/'; // the root folder ends with one already
    const QString folder = QDir::cleanPath(prefix + id);
    if (!folder.startsWith(prefix) || folder.size() == prefix.size() || QStringView(folder).mid(prefix.size()).contains(u'/')) {
        return {};
    }
    return folder;
}

QString PluginMetaDataInternal::quotedForMessage(const QString &text)
{
    return quoted(text);
}

} // namespace PluginHost
