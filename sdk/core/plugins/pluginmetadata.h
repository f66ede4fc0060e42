#pragma once

#include "pluginhostcore_export.h"

#include <QExplicitlySharedDataPointer>
#include <QJsonObject>
#include <QList>
#include <QLocale>
#include <QString>
#include <QStringList>

namespace PluginHost
{

class PluginMetaDataPrivate;

/*!
 * \class PluginHost::PluginMetaData
 * \brief What a plugin's `metadata.json` says about it, checked and ready to use.
 *
 * A plugin is a folder holding `metadata.json` and a Python module or package (its
 * entry point). PluginMetaData reads and checks that file without running any Python:
 * every mistake a plugin author can make is reported as a message that names the file,
 * the key, what is wrong and what to write instead. Nothing is guessed; an object that
 * failed a check is invalid (isValid() returns false) and all its accessors return
 * empty values.
 *
 * PluginMetaData is an implicitly shared value type: copies are cheap and it can be
 * used from any thread.
 *
 * \code
 * QString error;
 * const auto metaData = PluginHost::PluginMetaData::fromDirectory(QStringLiteral("/opt/app/plugins/echo"), &error);
 * if (!metaData.isValid()) {
 *     qWarning().noquote() << error; // "/opt/app/plugins/echo/metadata.json: KPlugin.Id: missing; …"
 *     return;
 * }
 * qDebug() << metaData.id() << metaData.name() << metaData.permissions();
 *
 * // Every plugin under the application's plugin folders, every folder that is not one, and
 * // every plugin overridden by one of the same id in an earlier folder:
 * const auto found = PluginHost::PluginMetaData::discover({userPluginDir, systemPluginDir});
 * for (const auto &failure : found.failures) {
 *     qWarning().noquote() << failure.errorText;
 * }
 * for (const auto &shadowed : found.shadowed) {
 *     qInfo().noquote() << shadowed.message;
 * }
 * \endcode
 *
 * An example `metadata.json`:
 *
 * \code{.json}
 * {
 *   "KPlugin": {
 *     "Id": "org.example.echo", "Name": "Echo", "Name[de]": "Echo",
 *     "Description": "Repeats messages", "Version": "1.0.0", "License": "MIT",
 *     "Authors": [{"Name": "Ada"}], "EnabledByDefault": true
 *   },
 *   "X-PluginHost-ApiVersion": 1,
 *   "X-PluginHost-EntryPoint": "echo",
 *   "X-PluginHost-Permissions": ["network"],
 *   "X-PluginHost-Isolation": "isolated"
 * }
 * \endcode
 *
 * The keys. `KPlugin` follows KDE's KPluginMetaData conventions; host keys start with
 * `X-PluginHost-`. The SDK installs a JSON Schema of this format as
 * `share/pluginhost/metadata.schema.json`, for editors and CI.
 *
 * | Key                                | Type             | Required | Meaning                                                                     |
 * |------------------------------------|------------------|----------|-----------------------------------------------------------------------------|
 * | `KPlugin`                          | object           | yes      | holds the keys below                                                        |
 * | `KPlugin.Id`                       | string           | yes      | unique reverse-DNS id, e.g. `org.example.echo` (see below); id()           |
 * | `KPlugin.Name`                     | string           | yes      | non-empty name shown to users; name()                                       |
 * | `KPlugin.Name[<locale>]`           | string           | no       | translated name, e.g. `Name[de]`, `Name[pt_BR]`                             |
 * | `KPlugin.Description`              | string           | no       | one sentence shown to users; description()                                  |
 * | `KPlugin.Description[<locale>]`    | string           | no       | translated description                                                      |
 * | `KPlugin.Version`                  | string           | yes      | non-empty, e.g. `1.0.0`; version()                                          |
 * | `KPlugin.License`                  | string           | no       | SPDX identifier, e.g. `MIT`; license()                                      |
 * | `KPlugin.Authors`                  | array of objects | no       | each `{"Name": "…"}` with a non-empty name (other keys allowed); authors()  |
 * | `KPlugin.EnabledByDefault`         | bool             | no       | default `true`; isEnabledByDefault()                                        |
 * | `X-PluginHost-ApiVersion`          | integer          | yes      | must be currentApiVersion (1); apiVersion()                                 |
 * | `X-PluginHost-EntryPoint`          | string           | yes      | dotted Python module name in the plugin folder; entryPoint()                |
 * | `X-PluginHost-Permissions`         | array of strings | no       | `network`, `subprocess`, `filesystem`, `native`; default none; permissions() |
 * | `X-PluginHost-Isolation`           | string           | no       | `isolated` (default) or `shared`; isolation()                               |
 * | `X-PluginHost-PersistState`        | bool             | no       | default `false`; on_unload()'s state survives a restart; persistsState()    |
 *
 * Other keys, at the top level or in `KPlugin`, are kept for the application (see
 * rawData()), except that any other key starting with `X-PluginHost-` (in any letter
 * case) is an error, so that a misspelt host key never passes silently.
 *
 * The id names the plugin's folder under PluginManager::dataLocation() and its logging
 * category, so it is held to the pattern `^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$`: two or more
 * parts of ASCII letters, digits, `_` and `-`, separated by single dots, at most 128
 * characters. There is no room in it for a path separator, a `.` or `..` part, a space or a
 * control character.
 *
 * Limits keep what a plugin folder can make the host hold small. `metadata.json` is refused
 * unread when larger than 1 MiB. `Name`, its translations, `License` and each author's
 * `Name` hold at most 256 characters, `Description` and its translations 4096, `Version`
 * 128 and `X-PluginHost-EntryPoint` 256; `Authors` has at most 100 entries and
 * `X-PluginHost-Permissions` 16. Lengths count characters (code points), as JSON Schema's
 * `maxLength` does. Messages quote at most 80 characters of a rejected value, with
 * characters that do not print (a NUL, a newline) written as `\uXXXX`.
 *
 * The entry point `a.b` must be `<plugin folder>/a/b/__init__.py` or
 * `<plugin folder>/a/b.py`. Module names are ASCII Python identifiers; `pluginhost`
 * is the SDK's own module and cannot be a plugin's top-level package.
 *
 * \since 0.1
 */
class PLUGINHOSTCORE_EXPORT PluginMetaData
{
public:
    /// How a plugin's interpreter is set up (see DESIGN.md, "Plugins").
    enum class Isolation {
        Isolated, ///< `"isolated"`: own GIL; only extensions that support a per-interpreter GIL load
        Shared, ///< `"shared"`: shares the main GIL, for extensions that support subinterpreters but not their own GIL
    };

    /// The only `X-PluginHost-ApiVersion` this host accepts.
    static constexpr int currentApiVersion = 1;

    /// A failed folder found by discover().
    struct Failure {
        /// Absolute, clean path of the folder.
        QString directory;
        /// Untranslated message naming the file, what is wrong and what to do.
        QString errorText;
    };

    /*!
     * A valid plugin folder that discover() passed over because a folder with the same id in an
     * earlier search path is used instead: the way a user's own copy overrides the one the
     * application installed.
     * \since 0.2
     */
    struct Shadowed {
        /// Absolute, clean path of the folder passed over.
        QString directory;
        /// The id both folders have.
        QString id;
        /// Absolute, clean path of the folder used instead.
        QString usedDirectory;
        /// Untranslated message naming both folders.
        QString message;
    };

    /// The result of discover(): the plugins found, in search order, the folders that are not
    /// plugins, and the plugins overridden by an earlier search path.
    struct Discovery {
        QList<PluginMetaData> plugins;
        QList<Failure> failures;
        QList<Shadowed> shadowed; ///< \since 0.2
    };

    /// An invalid object.
    PluginMetaData();
    PluginMetaData(const PluginMetaData &other);
    PluginMetaData(PluginMetaData &&other) noexcept;
    PluginMetaData &operator=(const PluginMetaData &other);
    PluginMetaData &operator=(PluginMetaData &&other) noexcept;
    ~PluginMetaData();

    /*!
     * Reads and checks `<directory>/metadata.json`.
     *
     * On failure returns an invalid object and, when \a errorText is given, sets it to an
     * untranslated message that names the file, what is wrong and what to do; JSON syntax
     * errors carry the line and column (`/plugins/echo/metadata.json:3:14: unterminated string; …`).
     * On success \a errorText is cleared.
     */
    static PluginMetaData fromDirectory(const QString &directory, QString *errorText = nullptr);

    /*!
     * Runs the same checks on an already parsed object. \a directory is the plugin folder:
     * the entry module must exist there, and messages name `<directory>/metadata.json`.
     */
    static PluginMetaData fromJson(const QJsonObject &json, const QString &directory, QString *errorText = nullptr);

    /*!
     * Looks at every direct sub-folder of each search path, in the order given, with the
     * sub-folders of one path sorted by name.
     *
     * - Folders whose name starts with `.` and `__pycache__` folders are skipped silently.
     * - Any other folder is either a plugin or a Failure (no or invalid `metadata.json`).
     * - Two or more folders of one search path with the same id are all Failures, each naming
     *   the others: none of them is used, whatever their names, so that a folder cannot take
     *   over another plugin's id (and with it its exports and storage) by sorting first.
     * - A folder whose id a folder in an earlier search path provides is Shadowed: the earlier
     *   search path wins. Pass the user's plugin folder before the application's to let users
     *   override a plugin. An id whose folders in one search path are Failures for being
     *   several is not provided by that path: a later path's folder may provide it.
     * - A search path that does not exist is skipped, as is a path given a second time.
     *
     * Plain files in a search path are ignored.
     */
    static Discovery discover(const QStringList &searchPaths);

    /// True when the metadata was read and passed every check.
    bool isValid() const;

    /// `KPlugin.Id`, e.g. `org.example.echo`.
    QString id() const;

    /// `KPlugin.Name` translated for QLocale() (see name(const QLocale &)).
    QString name() const;

    /*!
     * `KPlugin.Name` translated for \a locale, as KPluginMetaData does: the first non-empty
     * one of `Name[<language>_<territory>]` (QLocale::name(), e.g. `Name[de_DE]`),
     * `Name[<language>]` (`Name[de]`) and `Name`.
     */
    QString name(const QLocale &locale) const;

    /// `KPlugin.Description` translated for QLocale(); empty when absent.
    QString description() const;

    /// `KPlugin.Description` translated for \a locale, looked up like name(const QLocale &).
    QString description(const QLocale &locale) const;

    /// `KPlugin.Version`, e.g. `1.0.0`.
    QString version() const;

    /// `KPlugin.License`; empty when absent.
    QString license() const;

    /// The `Name` of each entry of `KPlugin.Authors`, in order.
    QStringList authors() const;

    /// `KPlugin.EnabledByDefault`; true when absent, false for an invalid object.
    bool isEnabledByDefault() const;

    /// `X-PluginHost-ApiVersion`; currentApiVersion for a valid object, 0 for an invalid one.
    int apiVersion() const;

    /// `X-PluginHost-EntryPoint`: the Python module name the host imports, e.g. `echo` or `echo.main`.
    QString entryPoint() const;

    /// `X-PluginHost-Permissions`, in the order written, without repeats; empty when absent.
    QStringList permissions() const;

    /// `X-PluginHost-Isolation`; Isolated when absent.
    Isolation isolation() const;

    /// `X-PluginHost-PersistState`; false when absent. When true, what on_unload() returns is
    /// also kept in the profile's database and handed to the next fresh start as
    /// `pluginhost.info.previous_state` (once: a start after a crash gets nothing).
    bool persistsState() const;

    /// Absolute, clean path of the plugin folder.
    QString directory() const;

    /// Absolute path of the plugin's `metadata.json`.
    QString metaDataFile() const;

    /// The whole `metadata.json` object, for application-specific keys.
    QJsonObject rawData() const;

    /// Same id, version and directory. Two invalid objects are equal.
    bool operator==(const PluginMetaData &other) const;
    bool operator!=(const PluginMetaData &other) const
    {
        return !(*this == other);
    }

private:
    QExplicitlySharedDataPointer<const PluginMetaDataPrivate> d;
};

} // namespace PluginHost
