#include "pluginmetadata.h"
#include "pluginmetadata_p.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using PluginHost::PluginMetaData;

namespace
{
// tests/data/metadata/<relative>, absolute and clean, as PluginMetaData reports folders.
QString fixture(const QString &relative = QString())
{
    return QDir::cleanPath(QStringLiteral(PLUGINHOST_TEST_DATA "/metadata/") + relative);
}

QJsonObject readJsonObject(const QString &file)
{
    QFile input(file);
    if (!input.open(QIODevice::ReadOnly)) {
        return {};
    }
    return QJsonDocument::fromJson(input.readAll()).object();
}

bool writeFile(const QString &file, const QByteArray &contents)
{
    QDir().mkpath(QFileInfo(file).absolutePath());
    QFile output(file);
    return output.open(QIODevice::WriteOnly) && output.write(contents) == contents.size();
}

// Copies the "minimal" fixture plugin into <parent>/<name>.
bool copyMinimalPlugin(const QString &parent, const QString &name)
{
    const QString target = QDir(parent).filePath(name);
    return QDir().mkpath(target) && QFile::copy(fixture(QStringLiteral("minimal/metadata.json")), target + QStringLiteral("/metadata.json"))
        && QFile::copy(fixture(QStringLiteral("minimal/minimal.py")), target + QStringLiteral("/minimal.py"));
}

QStringList sorted(QStringList list)
{
    list.sort();
    return list;
}

// The minimal fixture's metadata with `key` of `KPlugin` set to `value`.
QJsonObject withKPlugin(const QString &key, const QJsonValue &value)
{
    QJsonObject json = readJsonObject(fixture(QStringLiteral("minimal/metadata.json")));
    QJsonObject kplugin = json.value(QLatin1String("KPlugin")).toObject();
    kplugin.insert(key, value);
    json.insert(QLatin1String("KPlugin"), kplugin);
    return json;
}

// The minimal fixture's metadata with the top-level `key` set to `value`.
QJsonObject withHostKey(const QString &key, const QJsonValue &value)
{
    QJsonObject json = readJsonObject(fixture(QStringLiteral("minimal/metadata.json")));
    json.insert(key, value);
    return json;
}

QJsonArray repeated(const QJsonValue &value, qsizetype count)
{
    QJsonArray array;
    for (qsizetype i = 0; i < count; ++i) {
        array.append(value);
    }
    return array;
}

// A restorer for process-wide state the tests change.
class DefaultLocaleGuard
{
public:
    explicit DefaultLocaleGuard(const QLocale &locale)
    {
        QLocale::setDefault(locale);
    }
    ~DefaultLocaleGuard()
    {
        QLocale::setDefault(m_previous);
    }

private:
    const QLocale m_previous;
};
} // namespace

class PluginMetaDataTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void testAllKeys();
    void testDefaults();
    void testValidVariants_data();
    void testValidVariants();
    void testDesignExample();
    void testTranslations_data();
    void testTranslations();
    void testDefaultLocale();
    void testInvalid_data();
    void testInvalid();
    void testJsonSyntaxError_data();
    void testJsonSyntaxError();
    void testValidIds_data();
    void testValidIds();
    void testIdInMessages();
    void testFolderForId_data();
    void testFolderForId();
    void testFieldLimits_data();
    void testFieldLimits();
    void testHugeField();
    void testFileSizeLimit();
    void testFromJson();
    void testRelativeDirectory();
    void testErrorTextClearedOnSuccess();
    void testInvalidObject();
    void testValueSemantics();
    void testDiscovery();
    void testDiscoveryEarlierPathWins();
    void testDiscoveryDuplicateInOnePath();
    void testDiscoverySkipsHiddenFolders();
    void testDiscoveryReportsEveryBadFixture();
    void testSchemaMatchesParser();
};

void PluginMetaDataTest::testAllKeys()
{
    QString error;
    const PluginMetaData metaData = PluginMetaData::fromDirectory(fixture(QStringLiteral("full")), &error);
    QVERIFY2(metaData.isValid(), qPrintable(error));
    QVERIFY(error.isEmpty());

    QCOMPARE(metaData.id(), QStringLiteral("org.example.echo"));
    QCOMPARE(metaData.name(QLocale::c()), QStringLiteral("Echo"));
    QCOMPARE(metaData.description(QLocale::c()), QStringLiteral("Repeats messages"));
    QCOMPARE(metaData.version(), QStringLiteral("1.2.3"));
    QCOMPARE(metaData.license(), QStringLiteral("MIT"));
    QCOMPARE(metaData.authors(), (QStringList{QStringLiteral("Ada"), QStringLiteral("Grace")}));
    QCOMPARE(metaData.isEnabledByDefault(), false);
    QCOMPARE(metaData.apiVersion(), PluginMetaData::currentApiVersion);
    QCOMPARE(metaData.entryPoint(), QStringLiteral("echo"));
    // Written as ["network", "filesystem", "network"]: order kept, repeats dropped.
    QCOMPARE(metaData.permissions(), (QStringList{QStringLiteral("network"), QStringLiteral("filesystem")}));
    QCOMPARE(metaData.isolation(), PluginMetaData::Isolation::Shared);
    QCOMPARE(metaData.directory(), fixture(QStringLiteral("full")));
    QVERIFY(QDir::isAbsolutePath(metaData.directory()));
    QCOMPARE(metaData.metaDataFile(), fixture(QStringLiteral("full/metadata.json")));

    // Application-specific keys, at the top level and in KPlugin, are kept.
    const QJsonObject raw = metaData.rawData();
    QCOMPARE(raw.value(QLatin1String("X-Chat-Commands")).toArray(), QJsonArray{QStringLiteral("/echo")});
    QCOMPARE(raw.value(QLatin1String("KPlugin")).toObject().value(QLatin1String("Icon")).toString(), QStringLiteral("mail-reply"));
    QCOMPARE(raw, readJsonObject(metaData.metaDataFile()));
}

void PluginMetaDataTest::testDefaults()
{
    QString error;
    const PluginMetaData metaData = PluginMetaData::fromDirectory(fixture(QStringLiteral("minimal")), &error);
    QVERIFY2(metaData.isValid(), qPrintable(error));

    QCOMPARE(metaData.id(), QStringLiteral("org.example.minimal"));
    QCOMPARE(metaData.name(QLocale(QStringLiteral("de_DE"))), QStringLiteral("Minimal"));
    QCOMPARE(metaData.version(), QStringLiteral("0.1"));
    QVERIFY(metaData.description().isEmpty());
    QVERIFY(metaData.description(QLocale(QStringLiteral("de_DE"))).isEmpty());
    QVERIFY(metaData.license().isEmpty());
    QVERIFY(metaData.authors().isEmpty());
    QCOMPARE(metaData.isEnabledByDefault(), true);
    QCOMPARE(metaData.apiVersion(), 1);
    QCOMPARE(metaData.entryPoint(), QStringLiteral("minimal"));
    QVERIFY(metaData.permissions().isEmpty());
    QCOMPARE(metaData.isolation(), PluginMetaData::Isolation::Isolated);
    QCOMPARE(sorted(metaData.rawData().keys()),
             sorted({QStringLiteral("KPlugin"), QStringLiteral("X-PluginHost-ApiVersion"), QStringLiteral("X-PluginHost-EntryPoint")}));
}

void PluginMetaDataTest::testValidVariants_data()
{
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QString>("entryPoint");
    QTest::addColumn<PluginMetaData::Isolation>("isolation");

    // tools/main.py
    QTest::newRow("dotted module") << QStringLiteral("dotted") << QStringLiteral("tools.main") << PluginMetaData::Isolation::Isolated;
    // tools/main/__init__.py
    QTest::newRow("dotted package") << QStringLiteral("dotted-package") << QStringLiteral("tools.main") << PluginMetaData::Isolation::Isolated;
    // "X-PluginHost-ApiVersion": 1.0 is the whole number 1
    QTest::newRow("api version 1.0") << QStringLiteral("api-version-float") << QStringLiteral("plugin") << PluginMetaData::Isolation::Isolated;
    // "X-PluginHost-Isolation": "isolated", "X-PluginHost-Permissions": []
    QTest::newRow("explicit isolated") << QStringLiteral("isolated") << QStringLiteral("plugin") << PluginMetaData::Isolation::Isolated;
    QTest::newRow("shared") << QStringLiteral("full") << QStringLiteral("echo") << PluginMetaData::Isolation::Shared;
}

void PluginMetaDataTest::testValidVariants()
{
    QFETCH(QString, folder);
    QFETCH(QString, entryPoint);
    QFETCH(PluginMetaData::Isolation, isolation);

    QString error;
    const PluginMetaData metaData = PluginMetaData::fromDirectory(fixture(folder), &error);
    QVERIFY2(metaData.isValid(), qPrintable(error));
    QCOMPARE(metaData.entryPoint(), entryPoint);
    QCOMPARE(metaData.isolation(), isolation);
    QCOMPARE(metaData.apiVersion(), PluginMetaData::currentApiVersion);
}

void PluginMetaDataTest::testDesignExample()
{
    // The example in DESIGN.md and in the class documentation must stay valid.
    const QByteArray example = R"({
      "KPlugin": {
        "Id": "org.example.echo", "Name": "Echo", "Name[de]": "Echo",
        "Description": "Repeats messages", "Version": "1.0.0", "License": "MIT",
        "Authors": [{"Name": "Ada"}], "EnabledByDefault": true
      },
      "X-PluginHost-ApiVersion": 1,
      "X-PluginHost-EntryPoint": "echo",
      "X-PluginHost-Permissions": ["network"],
      "X-PluginHost-Isolation": "isolated"
    })";
    QTemporaryDir directory;
    QVERIFY(directory.isValid());
    QVERIFY(writeFile(directory.filePath(QStringLiteral("metadata.json")), example));
    QVERIFY(writeFile(directory.filePath(QStringLiteral("echo/__init__.py")), QByteArray()));

    QString error;
    const PluginMetaData metaData = PluginMetaData::fromDirectory(directory.path(), &error);
    QVERIFY2(metaData.isValid(), qPrintable(error));
    QCOMPARE(metaData.permissions(), QStringList{QStringLiteral("network")});
    QCOMPARE(metaData.authors(), QStringList{QStringLiteral("Ada")});
    QCOMPARE(metaData.isEnabledByDefault(), true);
}

void PluginMetaDataTest::testTranslations_data()
{
    QTest::addColumn<QString>("locale");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("description");

    const QString german = QStringLiteral("Echo (Deutsch)");
    const QString germanDescription = QStringLiteral("Wiederholt Nachrichten");
    const QString english = QStringLiteral("Echo");
    const QString englishDescription = QStringLiteral("Repeats messages");

    // full/metadata.json has Name[de], Name[de_AT], Name[pt_BR], an empty Name[fr] and Description[de].
    QTest::newRow("de_DE: Name[de]") << QStringLiteral("de_DE") << german << germanDescription;
    QTest::newRow("de: Name[de]") << QStringLiteral("de") << german << germanDescription;
    QTest::newRow("de_AT: Name[de_AT] first") << QStringLiteral("de_AT") << QStringLiteral("Echo (Österreich)") << germanDescription;
    QTest::newRow("de_CH: Name[de]") << QStringLiteral("de_CH") << german << germanDescription;
    QTest::newRow("pt_BR: Name[pt_BR]") << QStringLiteral("pt_BR") << QStringLiteral("Eco") << englishDescription;
    QTest::newRow("pt_PT: fallback") << QStringLiteral("pt_PT") << english << englishDescription;
    QTest::newRow("fr_FR: empty Name[fr] falls back") << QStringLiteral("fr_FR") << english << englishDescription;
    QTest::newRow("en_US: fallback") << QStringLiteral("en_US") << english << englishDescription;
    QTest::newRow("C: fallback") << QStringLiteral("C") << english << englishDescription;
}

void PluginMetaDataTest::testTranslations()
{
    QFETCH(QString, locale);
    QFETCH(QString, name);
    QFETCH(QString, description);

    const PluginMetaData metaData = PluginMetaData::fromDirectory(fixture(QStringLiteral("full")));
    QVERIFY(metaData.isValid());
    QCOMPARE(metaData.name(QLocale(locale)), name);
    QCOMPARE(metaData.description(QLocale(locale)), description);
}

void PluginMetaDataTest::testDefaultLocale()
{
    const PluginMetaData metaData = PluginMetaData::fromDirectory(fixture(QStringLiteral("full")));
    QVERIFY(metaData.isValid());
    {
        DefaultLocaleGuard guard(QLocale(QStringLiteral("de_DE")));
        QCOMPARE(metaData.name(), QStringLiteral("Echo (Deutsch)"));
        QCOMPARE(metaData.description(), QStringLiteral("Wiederholt Nachrichten"));
    }
    {
        DefaultLocaleGuard guard(QLocale(QStringLiteral("pt_BR")));
        QCOMPARE(metaData.name(), QStringLiteral("Eco"));
    }
    {
        DefaultLocaleGuard guard(QLocale::c());
        QCOMPARE(metaData.name(), QStringLiteral("Echo"));
        QCOMPARE(metaData.description(), QStringLiteral("Repeats messages"));
    }
}

void PluginMetaDataTest::testInvalid_data()
{
    QTest::addColumn<QString>("folder");
    // Part of the message after "<file>: "; {dir} stands for the plugin folder.
    QTest::addColumn<QString>("expected");

    auto row = [](const char *folder, const QString &expected) {
        QTest::newRow(folder) << QString::fromLatin1(folder) << expected;
    };
    // The file itself
    row("no-metadata", QStringLiteral("no metadata.json; a plugin folder needs one (see share/pluginhost/metadata.schema.json"));
    row("metadata-not-a-file", QStringLiteral("not a file; metadata.json must be a file"));
    row("empty-file", QStringLiteral("the file is empty; write a JSON object"));
    row("root-array", QStringLiteral("top level: must be an object, not an array; write {\"KPlugin\""));
    // KPlugin
    row("kplugin-missing", QStringLiteral("KPlugin: missing; write e.g. \"KPlugin\": {\"Id\": \"org.example.echo\""));
    row("kplugin-not-object", QStringLiteral("KPlugin: must be an object, not a string (\"org.example.bad\")"));
    row("id-missing", QStringLiteral("KPlugin.Id: missing; write e.g. \"Id\": \"org.example.echo\""));
    row("id-empty", QStringLiteral("KPlugin.Id: is empty; write e.g. \"Id\": \"org.example.echo\""));
    row("id-invalid", QStringLiteral("KPlugin.Id: \"org example/bad\" contains a path separator; an id is a name, not a path; write two or more parts"));
    // Ids name the plugin's data folder: nothing in them may lead out of it.
    const QString idHint = QStringLiteral("; write two or more parts of ASCII letters, digits, '_' and '-', separated by single dots, e.g. \"org.example.echo\"");
    row("id-dot", QStringLiteral("KPlugin.Id: \".\" is a folder name (the current or the parent folder), not an id") + idHint);
    row("id-dotdot", QStringLiteral("KPlugin.Id: \"..\" is a folder name (the current or the parent folder), not an id") + idHint);
    row("id-slash", QStringLiteral("KPlugin.Id: \"org.example/../../escape\" contains a path separator; an id is a name, not a path") + idHint);
    row("id-backslash", QStringLiteral("KPlugin.Id: \"org.example\\\\escape\" contains a path separator; an id is a name, not a path") + idHint);
    row("id-nul", QStringLiteral("KPlugin.Id: \"org.exa\\u0000mple.hidden\" contains a character that does not print (U+0000)") + idHint);
    row("id-control",
        QStringLiteral("KPlugin.Id: \"org.example.echo\\u000aforged log line\" contains a character that does not print (U+000A)")
            + idHint);
    row("id-space", QStringLiteral("KPlugin.Id: \"org.example echo\" contains \" \" (U+0020), which an id cannot hold") + idHint);
    row("id-non-ascii", QStringLiteral("KPlugin.Id: \"org.exämple.echo\" contains \"ä\" (U+00E4), which an id cannot hold") + idHint);
    row("id-one-part", QStringLiteral("KPlugin.Id: \"echo\" has one part only; ids are reverse domain names of two or more parts, e.g. \"org.example.echo\"") + idHint);
    row("id-empty-part", QStringLiteral("KPlugin.Id: \"org..example\" has an empty part (a '.' at the start or the end, or two in a row)") + idHint);
    row("id-leading-dot", QStringLiteral("KPlugin.Id: \".org.example\" has an empty part (a '.' at the start or the end, or two in a row)") + idHint);
    row("id-too-long", QStringLiteral("KPlugin.Id: is 129 characters long; the limit is 128 characters. Shorten it (it starts \"org.example.aaaa"));
    row("id-not-string", QStringLiteral("KPlugin.Id: must be a string, not a number (42)"));
    row("name-missing", QStringLiteral("KPlugin.Name: missing; write e.g. \"Name\": \"Echo\""));
    row("name-empty", QStringLiteral("KPlugin.Name: is empty"));
    row("name-translation-not-string", QStringLiteral("KPlugin.Name[de]: must be a string, not an array"));
    row("description-translation-not-string", QStringLiteral("KPlugin.Description[pt_BR]: must be a string, not a number (7)"));
    row("version-missing", QStringLiteral("KPlugin.Version: missing; write e.g. \"Version\": \"1.0.0\""));
    row("version-empty", QStringLiteral("KPlugin.Version: is empty"));
    row("version-not-string", QStringLiteral("KPlugin.Version: must be a string, not a number (1.5)"));
    row("description-not-string", QStringLiteral("KPlugin.Description: must be a string, not an object"));
    row("license-not-string", QStringLiteral("KPlugin.License: must be a string, not true"));
    row("authors-not-array",
        QStringLiteral("KPlugin.Authors: must be an array of objects, not a string (\"Ada\"); write e.g. \"Authors\": [{\"Name\": \"Ada\"}]"));
    row("authors-entry-not-object", QStringLiteral("KPlugin.Authors[1]: must be an object, not a string (\"Grace\")"));
    row("authors-entry-without-name", QStringLiteral("KPlugin.Authors[0].Name: missing"));
    row("authors-entry-empty-name", QStringLiteral("KPlugin.Authors[0].Name: must be a non-empty string"));
    row("enabled-not-bool", QStringLiteral("KPlugin.EnabledByDefault: must be true or false (without quotes), not a string (\"yes\")"));
    // X-PluginHost-ApiVersion, checked before anything else
    row("apiversion-missing", QStringLiteral("X-PluginHost-ApiVersion: missing; write \"X-PluginHost-ApiVersion\": 1"));
    row("apiversion-not-number", QStringLiteral("X-PluginHost-ApiVersion: must be an integer, not a string (\"1\"); write \"X-PluginHost-ApiVersion\": 1"));
    row("apiversion-fraction", QStringLiteral("X-PluginHost-ApiVersion: must be an integer, not a number (1.5); write \"X-PluginHost-ApiVersion\": 1"));
    // JSON numbers are doubles: the fraction must be seen, and shown, however small.
    row("apiversion-tiny-fraction",
        QStringLiteral("X-PluginHost-ApiVersion: must be an integer, not a number (1.0000000001); write \"X-PluginHost-ApiVersion\": 1"));
    row("apiversion-bool", QStringLiteral("X-PluginHost-ApiVersion: must be an integer, not true; write \"X-PluginHost-ApiVersion\": 1"));
    row("apiversion-unsupported",
        QStringLiteral("X-PluginHost-ApiVersion: the plugin needs API version 2, but this host supports API version 1 only; update the host to one "
                       "that supports API version 2, or use a version of the plugin made for API version 1"));
    // X-PluginHost-EntryPoint
    row("entrypoint-missing", QStringLiteral("X-PluginHost-EntryPoint: missing; write e.g. \"X-PluginHost-EntryPoint\": \"echo\""));
    row("entrypoint-not-string", QStringLiteral("X-PluginHost-EntryPoint: must be a string, not an array"));
    row("entrypoint-invalid", QStringLiteral("X-PluginHost-EntryPoint: \"my-plugin\" is not a Python module name"));
    row("entrypoint-leading-digit", QStringLiteral("X-PluginHost-EntryPoint: \"tools.2fa\" is not a Python module name"));
    row("entrypoint-reserved", QStringLiteral("X-PluginHost-EntryPoint: \"pluginhost.extra\": \"pluginhost\" is the SDK's own module"));
    row("entrypoint-module-missing",
        QStringLiteral("X-PluginHost-EntryPoint: module \"tools.main\" not found; expected {dir}/tools/main/__init__.py or {dir}/tools/main.py"));
    // X-PluginHost-Permissions
    row("permissions-not-array", QStringLiteral("X-PluginHost-Permissions: must be an array of strings, not a string (\"network\")"));
    row("permissions-entry-not-string", QStringLiteral("X-PluginHost-Permissions[0]: must be a string, not a number (1)"));
    row("permissions-unknown",
        QStringLiteral("X-PluginHost-Permissions[1]: unknown permission \"netwrok\"; the known permissions are network, subprocess, filesystem, native"));
    // X-PluginHost-Isolation
    row("isolation-unknown", QStringLiteral("X-PluginHost-Isolation: \"separate\" is not an isolation level; write \"isolated\""));
    row("isolation-not-string", QStringLiteral("X-PluginHost-Isolation: true is not an isolation level"));
    row("isolation-wrong-case", QStringLiteral("X-PluginHost-Isolation: \"Shared\" is not an isolation level"));
    // Other X-PluginHost-* keys
    row("host-key-unknown",
        QStringLiteral("X-PluginHost-Permission: unknown key; the keys starting with \"X-PluginHost-\" are X-PluginHost-ApiVersion, "
                       "X-PluginHost-EntryPoint, X-PluginHost-Permissions, X-PluginHost-Isolation, X-PluginHost-PersistState"));
    row("host-key-wrong-case", QStringLiteral("x-pluginhost-isolation: unknown key; keys are case-sensitive, write \"X-PluginHost-Isolation\""));
}

void PluginMetaDataTest::testInvalid()
{
    QFETCH(QString, folder);
    QFETCH(QString, expected);

    const QString directory = fixture(QStringLiteral("bad/") + folder);
    const QString file = directory + QStringLiteral("/metadata.json");
    expected.replace(QStringLiteral("{dir}"), directory);

    QString error;
    const PluginMetaData metaData = PluginMetaData::fromDirectory(directory, &error);
    QVERIFY(!metaData.isValid());
    QVERIFY(metaData.id().isEmpty());
    QVERIFY(metaData.directory().isEmpty());
    // The message starts with the file, or with the folder when there is no file.
    const QString location = QFileInfo::exists(file) ? file : directory;
    QVERIFY2(error.startsWith(location + QStringLiteral(": ")), qPrintable(error));
    QVERIFY2(error.contains(expected), qPrintable(QStringLiteral("%1\n   does not contain\n%2").arg(error, expected)));
}

void PluginMetaDataTest::testJsonSyntaxError_data()
{
    QTest::addColumn<QString>("folder");
    // "<line>:<column>: <what is wrong>", counting characters from 1
    QTest::addColumn<QString>("expected");

    QTest::newRow("unterminated string") << QStringLiteral("syntax-unterminated-string") << QStringLiteral("4:21: unterminated string");
    QTest::newRow("trailing comma") << QStringLiteral("syntax-trailing-comma")
                                    << QStringLiteral("4:1: a value is missing (JSON allows no comma after the last item)");
    QTest::newRow("missing comma") << QStringLiteral("syntax-missing-comma") << QStringLiteral("3:5: unterminated object (missing '}' or ',')");
    QTest::newRow("comment") << QStringLiteral("syntax-comment") << QStringLiteral("2:5: unterminated object");
    QTest::newRow("garbage at end") << QStringLiteral("syntax-garbage-at-end") << QStringLiteral("4:1: unexpected text after the end of the top-level object");
    QTest::newRow("text without quotes") << QStringLiteral("syntax-unquoted-text") << QStringLiteral("4:17: illegal number or text without double quotes");
    // Columns count characters, not UTF-8 bytes ("Grüße – Übung" is 13 characters, 18 bytes).
    QTest::newRow("non-ASCII before the error") << QStringLiteral("syntax-utf8-column") << QStringLiteral("2:77: missing ':' after a key");
    QTest::newRow("CRLF line ends") << QStringLiteral("syntax-crlf") << QStringLiteral("4:9: unterminated object");
}

void PluginMetaDataTest::testJsonSyntaxError()
{
    QFETCH(QString, folder);
    QFETCH(QString, expected);

    const QString file = fixture(QStringLiteral("bad/%1/metadata.json").arg(folder));
    QString error;
    QVERIFY(!PluginMetaData::fromDirectory(QFileInfo(file).path(), &error).isValid());
    QVERIFY2(error.startsWith(file + u':' + expected), qPrintable(error));
    QVERIFY2(error.endsWith(QStringLiteral("; metadata.json must be valid JSON (no comments, no trailing commas)")), qPrintable(error));
}

void PluginMetaDataTest::testValidIds_data()
{
    QTest::addColumn<QString>("id");

    QTest::newRow("two parts") << QStringLiteral("example.echo");
    QTest::newRow("reverse DNS") << QStringLiteral("org.example.echo");
    QTest::newRow("hyphen and underscore") << QStringLiteral("org.example-tools.my_echo");
    QTest::newRow("digits and capitals") << QStringLiteral("Com.Example2.Echo3");
    QTest::newRow("128 characters") << QStringLiteral("org.example.") + QString(116, u'a');
}

void PluginMetaDataTest::testValidIds()
{
    QFETCH(QString, id);

    QString error;
    const PluginMetaData metaData = PluginMetaData::fromJson(withKPlugin(QStringLiteral("Id"), id), fixture(QStringLiteral("minimal")), &error);
    QVERIFY2(metaData.isValid(), qPrintable(error));
    QCOMPARE(metaData.id(), id);
}

void PluginMetaDataTest::testIdInMessages()
{
    // A NUL in the id ends a C string: the message must hold an escape instead, and go on to the end.
    const QString directory = fixture(QStringLiteral("bad/id-nul"));
    QString error;
    QVERIFY(!PluginMetaData::fromDirectory(directory, &error).isValid());
    QVERIFY2(!error.contains(QChar(u'\0')), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("\"org.exa\\u0000mple.hidden\"")), qPrintable(error));
    QVERIFY2(error.endsWith(QLatin1String("e.g. \"org.example.echo\"")), qPrintable(error));
    const QByteArray printed = error.toUtf8();
    QCOMPARE(qstrlen(printed.constData()), size_t(printed.size()));

    // A newline in the id cannot forge a second log line.
    QVERIFY(!PluginMetaData::fromDirectory(fixture(QStringLiteral("bad/id-control")), &error).isValid());
    QVERIFY2(!error.contains(u'\n'), qPrintable(error));

    // Discovery reports the same text.
    const PluginMetaData::Discovery found = PluginMetaData::discover({fixture(QStringLiteral("bad"))});
    const auto failure = std::find_if(found.failures.cbegin(), found.failures.cend(), [&](const PluginMetaData::Failure &candidate) {
        return candidate.directory == directory;
    });
    QVERIFY(failure != found.failures.cend());
    PluginMetaData::fromDirectory(directory, &error);
    QCOMPARE(failure->errorText, error);
}

void PluginMetaDataTest::testFolderForId_data()
{
    QTest::addColumn<QString>("parent");
    QTest::addColumn<QString>("id");
    // Empty: refused.
    QTest::addColumn<QString>("folder");

    const QString data = QStringLiteral("/data/plugins");
    QTest::newRow("id") << data << QStringLiteral("org.example.echo") << QStringLiteral("/data/plugins/org.example.echo");
    QTest::newRow("parent with a slash") << QStringLiteral("/data/plugins/") << QStringLiteral("org.example.echo")
                                         << QStringLiteral("/data/plugins/org.example.echo");
    QTest::newRow("parent not clean") << QStringLiteral("/data/./x/../plugins") << QStringLiteral("org.example.echo")
                                      << QStringLiteral("/data/plugins/org.example.echo");
    QTest::newRow("root as parent") << QStringLiteral("/") << QStringLiteral("org.example.echo") << QStringLiteral("/org.example.echo");
    QTest::newRow("dot") << data << QStringLiteral(".") << QString();
    QTest::newRow("dot dot") << data << QStringLiteral("..") << QString();
    QTest::newRow("up and sideways") << data << QStringLiteral("../plugins-other") << QString();
    QTest::newRow("up through a part") << data << QStringLiteral("org.example/../../escape") << QString();
    QTest::newRow("down and up") << data << QStringLiteral("x/..") << QString();
    QTest::newRow("nested") << data << QStringLiteral("org/example") << QString();
    QTest::newRow("NUL") << data << QStringLiteral("org.example") + QChar(u'\0') + QStringLiteral("/../..") << QString();
    QTest::newRow("empty id") << data << QString() << QString();
    QTest::newRow("no parent") << QString() << QStringLiteral("org.example.echo") << QString();
}

void PluginMetaDataTest::testFolderForId()
{
    QFETCH(QString, parent);
    QFETCH(QString, id);
    QFETCH(QString, folder);

    QCOMPARE(PluginHost::PluginMetaDataInternal::folderForId(parent, id), folder);
}

void PluginMetaDataTest::testFieldLimits_data()
{
    QTest::addColumn<QJsonObject>("json");
    // Empty: valid.
    QTest::addColumn<QString>("expected");

    const QString id = QStringLiteral("Id");
    const QString name = QStringLiteral("Name");
    const QString description = QStringLiteral("Description");
    const QJsonObject ada{{name, QStringLiteral("Ada")}};
    auto tooLong = [](const char *key, int length, int limit) {
        return QStringLiteral("%1: is %2 characters long; the limit is %3 characters. Shorten it (it starts \"").arg(QLatin1String(key)).arg(length).arg(limit);
    };

    QTest::newRow("Id: 129") << withKPlugin(id, QString(QStringLiteral("org.example.") + QString(117, u'a'))) << tooLong("KPlugin.Id", 129, 128);
    QTest::newRow("Name: 256") << withKPlugin(name, QString(256, u'n')) << QString();
    QTest::newRow("Name: 257") << withKPlugin(name, QString(257, u'n')) << tooLong("KPlugin.Name", 257, 256);
    // Characters, as JSON Schema counts them: U+1F600 is one character and two UTF-16 units.
    QTest::newRow("Name: 256 beyond the BMP") << withKPlugin(name, QString::fromUcs4(U"\U0001F600").repeated(256)) << QString();
    QTest::newRow("Name: 257 beyond the BMP") << withKPlugin(name, QString::fromUcs4(U"\U0001F600").repeated(257)) << tooLong("KPlugin.Name", 257, 256);
    QTest::newRow("Name[de]: 257") << withKPlugin(QStringLiteral("Name[de]"), QString(257, u'n')) << tooLong("KPlugin.Name[de]", 257, 256);
    QTest::newRow("Description: 4096") << withKPlugin(description, QString(4096, u'd')) << QString();
    QTest::newRow("Description: 4097") << withKPlugin(description, QString(4097, u'd')) << tooLong("KPlugin.Description", 4097, 4096);
    QTest::newRow("Description[pt_BR]: 4097") << withKPlugin(QStringLiteral("Description[pt_BR]"), QString(4097, u'd'))
                                              << tooLong("KPlugin.Description[pt_BR]", 4097, 4096);
    QTest::newRow("Version: 128") << withKPlugin(QStringLiteral("Version"), QString(128, u'1')) << QString();
    QTest::newRow("Version: 129") << withKPlugin(QStringLiteral("Version"), QString(129, u'1')) << tooLong("KPlugin.Version", 129, 128);
    QTest::newRow("License: 257") << withKPlugin(QStringLiteral("License"), QString(257, u'L')) << tooLong("KPlugin.License", 257, 256);
    QJsonArray authors = repeated(ada, 3);
    authors.append(QJsonObject{{name, QString(257, u'a')}});
    QTest::newRow("Authors[3].Name: 257") << withKPlugin(QStringLiteral("Authors"), authors) << tooLong("KPlugin.Authors[3].Name", 257, 256);
    QTest::newRow("Authors: 100") << withKPlugin(QStringLiteral("Authors"), repeated(ada, 100)) << QString();
    QTest::newRow("Authors: 101") << withKPlugin(QStringLiteral("Authors"), repeated(ada, 101))
                                  << QStringLiteral("KPlugin.Authors: has 101 entries; the limit is 100. List the main authors");
    QTest::newRow("EntryPoint: 257") << withHostKey(QStringLiteral("X-PluginHost-EntryPoint"), QString(257, u'm'))
                                     << tooLong("X-PluginHost-EntryPoint", 257, 256);
    QTest::newRow("Permissions: 16") << withHostKey(QStringLiteral("X-PluginHost-Permissions"), repeated(QStringLiteral("network"), 16)) << QString();
    QTest::newRow("Permissions: 17") << withHostKey(QStringLiteral("X-PluginHost-Permissions"), repeated(QStringLiteral("network"), 17))
                                     << QStringLiteral("X-PluginHost-Permissions: has 17 entries; the limit is 16. Name each permission once");
}

void PluginMetaDataTest::testFieldLimits()
{
    QFETCH(QJsonObject, json);
    QFETCH(QString, expected);

    const QString directory = fixture(QStringLiteral("minimal"));
    QString error;
    const PluginMetaData metaData = PluginMetaData::fromJson(json, directory, &error);
    if (expected.isEmpty()) {
        QVERIFY2(metaData.isValid(), qPrintable(error));
        return;
    }
    QVERIFY(!metaData.isValid());
    QVERIFY2(error.startsWith(directory + QStringLiteral("/metadata.json: ") + expected), qPrintable(error));
}

void PluginMetaDataTest::testHugeField()
{
    // A 10 MiB name is refused with a message that quotes only its start.
    constexpr qsizetype size = 10 * 1024 * 1024;
    QString error;
    QVERIFY(!PluginMetaData::fromJson(withKPlugin(QStringLiteral("Name"), QString(size, u'n')), fixture(QStringLiteral("minimal")), &error).isValid());
    QVERIFY2(error.contains(QStringLiteral("KPlugin.Name: is %1 characters long; the limit is 256 characters").arg(size)), qPrintable(error.left(500)));
    QVERIFY2(error.size() < 1000, qPrintable(error.left(500)));

    // The same for a value of the wrong type, quoted in "must be …, not a string (…)".
    QVERIFY(!PluginMetaData::fromJson(withKPlugin(QStringLiteral("EnabledByDefault"), QString(size, u'y')), fixture(QStringLiteral("minimal")), &error)
                 .isValid());
    QVERIFY2(error.contains(QStringLiteral("KPlugin.EnabledByDefault: must be true or false (without quotes), not a string (\"yyyy")),
             qPrintable(error.left(500)));
    QVERIFY2(error.contains(QStringLiteral("yyy\"… (%1 characters))").arg(size)), qPrintable(error.left(500)));
    QVERIFY2(error.size() < 1000, qPrintable(error.left(500)));
}

void PluginMetaDataTest::testFileSizeLimit()
{
    constexpr qsizetype limit = 1024 * 1024;
    QTemporaryDir directory;
    QVERIFY(directory.isValid());
    const QString path = QDir::cleanPath(QFileInfo(directory.path()).absoluteFilePath());
    const QString file = path + QStringLiteral("/metadata.json");
    QVERIFY(QFile::copy(fixture(QStringLiteral("minimal/minimal.py")), path + QStringLiteral("/minimal.py")));
    QFile minimal(fixture(QStringLiteral("minimal/metadata.json")));
    QVERIFY(minimal.open(QIODevice::ReadOnly));
    const QByteArray valid = minimal.readAll();

    // Exactly 1 MiB, white space after the object included: read.
    QVERIFY(writeFile(file, valid + QByteArray(limit - valid.size(), ' ')));
    QString error;
    QVERIFY2(PluginMetaData::fromDirectory(path, &error).isValid(), qPrintable(error));

    // One byte more: refused.
    const QString refused =
        file + QStringLiteral(": the file is larger than 1 MiB, the limit for metadata.json; keep only the plugin's metadata in it, and anything larger in the plugin's own files");
    QVERIFY(writeFile(file, valid + QByteArray(limit - valid.size() + 1, ' ')));
    QVERIFY(!PluginMetaData::fromDirectory(path, &error).isValid());
    QCOMPARE(error, refused);

    // Refused before parsing: 16 MiB that are not even JSON get the same message.
    QVERIFY(writeFile(file, QByteArray(16 * limit, '{')));
    QVERIFY(!PluginMetaData::fromDirectory(path, &error).isValid());
    QCOMPARE(error, refused);
}

void PluginMetaDataTest::testFromJson()
{
    const QString directory = fixture(QStringLiteral("full"));
    const QJsonObject json = readJsonObject(directory + QStringLiteral("/metadata.json"));
    QVERIFY(!json.isEmpty());

    QString error = QStringLiteral("stale");
    const PluginMetaData metaData = PluginMetaData::fromJson(json, directory, &error);
    QVERIFY2(metaData.isValid(), qPrintable(error));
    QVERIFY(error.isEmpty());
    QCOMPARE(metaData, PluginMetaData::fromDirectory(directory));
    QCOMPARE(metaData.rawData(), json);

    // The entry module is looked for in the folder given, which here has none.
    QTemporaryDir empty;
    QVERIFY(empty.isValid());
    const QString emptyPath = QDir::cleanPath(QFileInfo(empty.path()).absoluteFilePath());
    QVERIFY(!PluginMetaData::fromJson(json, empty.path(), &error).isValid());
    QVERIFY2(error.startsWith(emptyPath + QStringLiteral("/metadata.json: X-PluginHost-EntryPoint: module \"echo\" not found; expected ") + emptyPath
                              + QStringLiteral("/echo/__init__.py or ") + emptyPath + QStringLiteral("/echo.py")),
             qPrintable(error));

    QVERIFY(!PluginMetaData::fromJson(QJsonObject(), directory, &error).isValid());
    QVERIFY2(error.contains(QStringLiteral("X-PluginHost-ApiVersion: missing")), qPrintable(error));

    QVERIFY(!PluginMetaData::fromJson(json, QString(), &error).isValid());
    QVERIFY2(error.contains(QStringLiteral("no plugin folder given")), qPrintable(error));

    // errorText is optional.
    QVERIFY(!PluginMetaData::fromJson(QJsonObject(), directory).isValid());
    QVERIFY(!PluginMetaData::fromDirectory(fixture(QStringLiteral("bad/id-missing"))).isValid());
}

void PluginMetaDataTest::testRelativeDirectory()
{
    const QString previous = QDir::currentPath();
    QVERIFY(QDir::setCurrent(fixture()));
    QString error;
    const PluginMetaData metaData = PluginMetaData::fromDirectory(QStringLiteral("./bad/../full/"), &error);
    const QString missing = PluginMetaData::fromDirectory(QStringLiteral("does-not-exist"), &error).directory();
    const QString missingError = error;
    QVERIFY(QDir::setCurrent(previous));

    QVERIFY(metaData.isValid());
    QCOMPARE(metaData.directory(), fixture(QStringLiteral("full")));
    QVERIFY(missing.isEmpty());
    QCOMPARE(missingError,
             fixture(QStringLiteral("does-not-exist")) + QStringLiteral(": no such folder; pass the folder that holds the plugin's metadata.json"));
}

void PluginMetaDataTest::testErrorTextClearedOnSuccess()
{
    QString error = QStringLiteral("left over from an earlier call");
    QVERIFY(PluginMetaData::fromDirectory(fixture(QStringLiteral("minimal")), &error).isValid());
    QVERIFY(error.isEmpty());
}

void PluginMetaDataTest::testInvalidObject()
{
    const PluginMetaData invalid;
    QVERIFY(!invalid.isValid());
    QVERIFY(invalid.id().isEmpty());
    QVERIFY(invalid.name().isEmpty());
    QVERIFY(invalid.name(QLocale(QStringLiteral("de_DE"))).isEmpty());
    QVERIFY(invalid.description().isEmpty());
    QVERIFY(invalid.version().isEmpty());
    QVERIFY(invalid.license().isEmpty());
    QVERIFY(invalid.authors().isEmpty());
    QCOMPARE(invalid.isEnabledByDefault(), false);
    QCOMPARE(invalid.apiVersion(), 0);
    QVERIFY(invalid.entryPoint().isEmpty());
    QVERIFY(invalid.permissions().isEmpty());
    QCOMPARE(invalid.isolation(), PluginMetaData::Isolation::Isolated);
    QVERIFY(invalid.directory().isEmpty());
    QVERIFY(invalid.metaDataFile().isEmpty());
    QVERIFY(invalid.rawData().isEmpty());

    QCOMPARE(invalid, PluginMetaData());
    QVERIFY(invalid != PluginMetaData::fromDirectory(fixture(QStringLiteral("minimal"))));
}

void PluginMetaDataTest::testValueSemantics()
{
    const PluginMetaData full = PluginMetaData::fromDirectory(fixture(QStringLiteral("full")));
    const PluginMetaData minimal = PluginMetaData::fromDirectory(fixture(QStringLiteral("minimal")));
    QVERIFY(full.isValid());
    QVERIFY(minimal.isValid());

    PluginMetaData copy = full;
    QCOMPARE(copy, full);
    QCOMPARE(copy.id(), full.id());
    copy = minimal;
    QCOMPARE(copy, minimal);
    QVERIFY(copy != full);
    QCOMPARE(full.id(), QStringLiteral("org.example.echo")); // assigning the copy left the original alone

    PluginMetaData moved = std::move(copy);
    QCOMPARE(moved, minimal);

    // Read twice from the same folder: equal.
    QCOMPARE(PluginMetaData::fromDirectory(fixture(QStringLiteral("full"))), full);
    // Same id and version in another folder: not equal.
    const PluginMetaData alpha = PluginMetaData::fromDirectory(fixture(QStringLiteral("search1/alpha")));
    const PluginMetaData alphaCopy = PluginMetaData::fromDirectory(fixture(QStringLiteral("search2/alpha-copy")));
    QCOMPARE(alpha.id(), alphaCopy.id());
    QCOMPARE(alpha.version(), alphaCopy.version());
    QVERIFY(alpha != alphaCopy);

    const QList<PluginMetaData> list{full, minimal};
    QVERIFY(list.contains(minimal));
}

void PluginMetaDataTest::testDiscovery()
{
    const QString search1 = fixture(QStringLiteral("search1"));
    const QString search2 = fixture(QStringLiteral("search2"));
    const PluginMetaData::Discovery found =
        PluginMetaData::discover({search1, fixture(QStringLiteral("does-not-exist")), search2, search1 + QStringLiteral("/")});

    QStringList ids;
    QStringList directories;
    for (const PluginMetaData &plugin : found.plugins) {
        ids.append(plugin.id());
        directories.append(plugin.directory());
    }
    QCOMPARE(ids, (QStringList{QStringLiteral("org.example.alpha"), QStringLiteral("org.example.beta"), QStringLiteral("org.example.gamma")}));
    QCOMPARE(directories, (QStringList{search1 + QStringLiteral("/alpha"), search1 + QStringLiteral("/beta"), search2 + QStringLiteral("/gamma")}));

    // The missing search path and search1 given again add nothing; README.txt is a file, not a folder.
    QCOMPARE(found.failures.size(), 1);
    const PluginMetaData::Failure &broken = found.failures.at(0);
    QCOMPARE(broken.directory, search1 + QStringLiteral("/broken"));
    QVERIFY2(broken.errorText.startsWith(broken.directory + QStringLiteral(": no metadata.json")), qPrintable(broken.errorText));

    // search2/alpha-copy has the id of search1/alpha, which comes first.
    QCOMPARE(found.shadowed.size(), 1);
    const PluginMetaData::Shadowed &shadowed = found.shadowed.at(0);
    QCOMPARE(shadowed.directory, search2 + QStringLiteral("/alpha-copy"));
    QCOMPARE(shadowed.id, QStringLiteral("org.example.alpha"));
    QCOMPARE(shadowed.usedDirectory, search1 + QStringLiteral("/alpha"));
    QCOMPARE(shadowed.message,
             shadowed.directory + QStringLiteral("/metadata.json: KPlugin.Id: \"org.example.alpha\" is shadowed by the plugin in ") + search1
                 + QStringLiteral("/alpha, in an earlier search path, which is used instead. Remove one of the two folders if this is not meant to "
                                  "override it"));

    QVERIFY(PluginMetaData::discover({}).plugins.isEmpty());
    QVERIFY(PluginMetaData::discover({QString()}).failures.isEmpty());
}

void PluginMetaDataTest::testDiscoveryEarlierPathWins()
{
    // The order of the search paths decides, not the names of the folders.
    const QString search1 = fixture(QStringLiteral("search1"));
    const QString search2 = fixture(QStringLiteral("search2"));
    const PluginMetaData::Discovery found = PluginMetaData::discover({search2, search1});

    QCOMPARE(found.plugins.size(), 3);
    QCOMPARE(found.plugins.at(0).directory(), search2 + QStringLiteral("/alpha-copy"));
    QCOMPARE(found.plugins.at(0).name(QLocale::c()), QStringLiteral("Alpha (copy)"));
    QCOMPARE(found.plugins.at(1).id(), QStringLiteral("org.example.gamma"));
    QCOMPARE(found.plugins.at(2).id(), QStringLiteral("org.example.beta"));

    QCOMPARE(found.shadowed.size(), 1);
    QCOMPARE(found.shadowed.at(0).directory, search1 + QStringLiteral("/alpha"));
    QCOMPARE(found.shadowed.at(0).usedDirectory, search2 + QStringLiteral("/alpha-copy"));
    QCOMPARE(found.failures.size(), 1);
    QCOMPARE(found.failures.at(0).directory, search1 + QStringLiteral("/broken"));
}

void PluginMetaDataTest::testDiscoveryDuplicateInOnePath()
{
    // same-path/aaa-squatter sorts before same-path/alpha and claims its id: neither is used.
    const QString samePath = fixture(QStringLiteral("same-path"));
    const PluginMetaData::Discovery found = PluginMetaData::discover({samePath});

    QCOMPARE(found.plugins.size(), 1);
    QCOMPARE(found.plugins.at(0).id(), QStringLiteral("org.example.delta"));
    QVERIFY(found.shadowed.isEmpty());
    QCOMPARE(found.failures.size(), 2);
    const QString squatter = samePath + QStringLiteral("/aaa-squatter");
    const QString alpha = samePath + QStringLiteral("/alpha");
    QCOMPARE(found.failures.at(0).directory, squatter);
    QCOMPARE(found.failures.at(0).errorText,
             squatter + QStringLiteral("/metadata.json: KPlugin.Id: \"org.example.alpha\" is also the id of the plugin in ") + alpha
                 + QStringLiteral(", in the same search path; none of them is loaded. Remove all but one of these folders, or give each plugin its own id"));
    QCOMPARE(found.failures.at(1).directory, alpha);
    QVERIFY2(found.failures.at(1).errorText.startsWith(alpha + QStringLiteral("/metadata.json: KPlugin.Id: \"org.example.alpha\" is also the id of the plugin in ")
                                                       + squatter + QStringLiteral(", in the same search path; none of them is loaded")),
             qPrintable(found.failures.at(1).errorText));

    // Both being refused, neither shadows the folder of that id in a later search path.
    const QString search1 = fixture(QStringLiteral("search1"));
    const PluginMetaData::Discovery withLater = PluginMetaData::discover({samePath, search1});
    QStringList directories;
    for (const PluginMetaData &plugin : withLater.plugins) {
        directories.append(plugin.directory());
    }
    QCOMPARE(directories, (QStringList{samePath + QStringLiteral("/delta"), search1 + QStringLiteral("/alpha"), search1 + QStringLiteral("/beta")}));
    QVERIFY(withLater.shadowed.isEmpty());
    QCOMPARE(withLater.failures.size(), 3); // the two in same-path and search1/broken
}

void PluginMetaDataTest::testDiscoverySkipsHiddenFolders()
{
    QTemporaryDir searchPath;
    QVERIFY(searchPath.isValid());
    // Each of these would be a plugin (or a duplicate) if it were looked at.
    QVERIFY(copyMinimalPlugin(searchPath.path(), QStringLiteral("visible")));
    QVERIFY(copyMinimalPlugin(searchPath.path(), QStringLiteral(".hidden")));
    QVERIFY(copyMinimalPlugin(searchPath.path(), QStringLiteral("__pycache__")));
    // And these would be failures.
    QVERIFY(QDir(searchPath.path()).mkpath(QStringLiteral(".git/objects")));
    QVERIFY(QDir(searchPath.path()).mkpath(QStringLiteral("__pycache__/nested")));

    const PluginMetaData::Discovery found = PluginMetaData::discover({searchPath.path()});
    QCOMPARE(found.plugins.size(), 1);
    QCOMPARE(found.plugins.constFirst().directory(), QDir::cleanPath(QFileInfo(searchPath.filePath(QStringLiteral("visible"))).absoluteFilePath()));
    QVERIFY2(found.failures.isEmpty(), qPrintable(found.failures.value(0).errorText));
}

void PluginMetaDataTest::testDiscoveryReportsEveryBadFixture()
{
    // Every folder under bad/ is a failure, with the same message fromDirectory() gives.
    const QString bad = fixture(QStringLiteral("bad"));
    const QStringList folders = QDir(bad).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    QVERIFY(folders.size() > 40);

    const PluginMetaData::Discovery found = PluginMetaData::discover({bad});
    QVERIFY(found.plugins.isEmpty());
    QCOMPARE(found.failures.size(), folders.size());
    for (qsizetype i = 0; i < folders.size(); ++i) {
        const PluginMetaData::Failure &failure = found.failures.at(i);
        QCOMPARE(failure.directory, QString(bad + u'/' + folders.at(i)));
        QString error;
        PluginMetaData::fromDirectory(failure.directory, &error);
        QCOMPARE(failure.errorText, error);
    }
}

void PluginMetaDataTest::testSchemaMatchesParser()
{
    QFile file(QStringLiteral(PLUGINHOST_TEST_DATA "/../../sdk/core/plugins/metadata.schema.json"));
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(parseError.errorString()));
    QVERIFY(document.isObject());

    const auto known = PluginHost::PluginMetaDataInternal::knownKeys();
    const QJsonObject schema = document.object();
    QCOMPARE(schema.value(QLatin1String("$schema")).toString(), QStringLiteral("https://json-schema.org/draft/2020-12/schema"));
    auto strings = [](const QJsonValue &array) {
        QStringList list;
        for (const QJsonValue &value : array.toArray()) {
            list.append(value.toString());
        }
        return list;
    };

    // KPlugin: the keys, the required ones and the translated ones.
    const QJsonObject kplugin = schema.value(QLatin1String("properties")).toObject().value(QLatin1String("KPlugin")).toObject();
    QCOMPARE(sorted(kplugin.value(QLatin1String("properties")).toObject().keys()), sorted(known.kpluginKeys));
    QCOMPARE(sorted(strings(kplugin.value(QLatin1String("required")))), sorted(known.requiredKPluginKeys));
    // One pattern per translatable key, each with that key's limit.
    const QJsonObject translations = kplugin.value(QLatin1String("patternProperties")).toObject();
    QCOMPARE(translations.size(), known.translatableKPluginKeys.size());
    for (const QString &key : known.kpluginKeys) {
        QStringList matching;
        for (auto it = translations.constBegin(); it != translations.constEnd(); ++it) {
            const QRegularExpression translation(it.key());
            QVERIFY(translation.isValid());
            QVERIFY(!translation.match(key).hasMatch());
            if (translation.match(key + QStringLiteral("[de]")).hasMatch() && translation.match(key + QStringLiteral("[pt_BR]")).hasMatch()) {
                matching.append(it.key());
                QCOMPARE(it.value().toObject().value(QLatin1String("maxLength")).toInteger(),
                         known.maxLengths.value(QStringLiteral("KPlugin.%1[]").arg(key)));
            }
        }
        QCOMPARE(matching.size(), known.translatableKPluginKeys.contains(key) ? 1 : 0);
    }

    // The top level: KPlugin and exactly the X-PluginHost-* keys the parser knows.
    const QJsonObject properties = schema.value(QLatin1String("properties")).toObject();
    QCOMPARE(sorted(properties.keys()), sorted(known.hostKeys + QStringList{QStringLiteral("KPlugin")}));
    QCOMPARE(sorted(strings(schema.value(QLatin1String("required")))), sorted(known.requiredHostKeys + QStringList{QStringLiteral("KPlugin")}));
    const QJsonArray propertyNames = schema.value(QLatin1String("propertyNames")).toObject().value(QLatin1String("anyOf")).toArray();
    QCOMPARE(sorted(strings(propertyNames.at(0).toObject().value(QLatin1String("enum")))), sorted(known.hostKeys));

    // The values.
    QCOMPARE(properties.value(QLatin1String("X-PluginHost-ApiVersion")).toObject().value(QLatin1String("const")).toInt(), PluginMetaData::currentApiVersion);
    QCOMPARE(
        strings(properties.value(QLatin1String("X-PluginHost-Permissions")).toObject().value(QLatin1String("items")).toObject().value(QLatin1String("enum"))),
        known.permissions);
    QCOMPARE(strings(properties.value(QLatin1String("X-PluginHost-Isolation")).toObject().value(QLatin1String("enum"))), known.isolations);

    // The id pattern and the limits.
    const QJsonObject kpluginProperties = kplugin.value(QLatin1String("properties")).toObject();
    QCOMPARE(kpluginProperties.value(QLatin1String("Id")).toObject().value(QLatin1String("pattern")).toString(), known.idPattern);
    auto schemaOf = [&](const QString &keyPath) {
        if (keyPath == QLatin1String("KPlugin.Authors[].Name")) {
            return kpluginProperties.value(QLatin1String("Authors"))
                .toObject()
                .value(QLatin1String("items"))
                .toObject()
                .value(QLatin1String("properties"))
                .toObject()
                .value(QLatin1String("Name"))
                .toObject();
        }
        if (keyPath.startsWith(QLatin1String("KPlugin."))) {
            return kpluginProperties.value(keyPath.mid(8)).toObject();
        }
        return properties.value(keyPath).toObject();
    };
    QVERIFY(known.maxLengths.size() >= 9);
    for (auto it = known.maxLengths.constBegin(); it != known.maxLengths.constEnd(); ++it) {
        if (it.key().endsWith(QLatin1String("[]"))) {
            continue; // the translations, above
        }
        QVERIFY2(schemaOf(it.key()).contains(QLatin1String("maxLength")), qPrintable(it.key()));
        QCOMPARE(schemaOf(it.key()).value(QLatin1String("maxLength")).toInteger(), it.value());
    }
    QCOMPARE(known.maxItems.size(), 2);
    for (auto it = known.maxItems.constBegin(); it != known.maxItems.constEnd(); ++it) {
        QVERIFY2(schemaOf(it.key()).contains(QLatin1String("maxItems")), qPrintable(it.key()));
        QCOMPARE(schemaOf(it.key()).value(QLatin1String("maxItems")).toInteger(), it.value());
    }
    QVERIFY2(schema.value(QLatin1String("description")).toString().contains(QStringLiteral("at most %1 MiB").arg(known.maxFileSize / (1024 * 1024))),
             qPrintable(schema.value(QLatin1String("description")).toString()));

    // The id pattern accepts the id of every fixture and bundled plugin, except those made to be refused.
    const QRegularExpression idPattern(known.idPattern);
    QVERIFY(idPattern.isValid());
    for (const QString &root : {QStringLiteral(PLUGINHOST_TEST_DATA), QStringLiteral(PLUGINHOST_BUNDLED_PLUGINS)}) {
        QDirIterator files(root, {QStringLiteral("metadata.json")}, QDir::Files, QDirIterator::Subdirectories);
        while (files.hasNext()) {
            const QString metaDataFile = files.next();
            const QJsonValue id = readJsonObject(metaDataFile).value(QLatin1String("KPlugin")).toObject().value(QLatin1String("Id"));
            if (!id.isString() || metaDataFile.contains(QLatin1String("/metadata/bad/")) || metaDataFile.contains(QLatin1String("/discovery/hostile/"))
                || metaDataFile.contains(QLatin1String("/headless/nul-id/"))) {
                continue;
            }
            QVERIFY2(idPattern.match(id.toString()).hasMatch(), qPrintable(metaDataFile));
        }
    }
}

QTEST_GUILESS_MAIN(PluginMetaDataTest)

#include "pluginmetadatatest.moc"
