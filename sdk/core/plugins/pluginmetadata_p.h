#pragma once

#include "pluginhostcore_export.h"

#include <QHash>
#include <QStringList>

namespace PluginHost::PluginMetaDataInternal
{

// What the parser in pluginmetadata.cpp accepts, so that tests can hold
// metadata.schema.json to exactly the same keys and values.
struct KnownKeys {
    QStringList kpluginKeys; // untranslated keys under "KPlugin"
    QStringList requiredKPluginKeys;
    QStringList translatableKPluginKeys; // also accepted as "<key>[<locale>]"
    QStringList hostKeys; // the X-PluginHost-* keys at the top level
    QStringList requiredHostKeys;
    QStringList permissions;
    QStringList isolations;
    QString idPattern; // anchored with ^ and $, as in the schema
    QHash<QString, qsizetype> maxLengths; // "KPlugin.Name", "KPlugin.Authors[].Name", … → characters
    QHash<QString, qsizetype> maxItems; // "KPlugin.Authors", "X-PluginHost-Permissions" → entries
    qint64 maxFileSize = 0; // bytes of metadata.json
};

// Exported only for the tests.
PLUGINHOSTCORE_EXPORT KnownKeys knownKeys();

// The clean path of the folder `<parent>/<id>`, or an empty string when that would not be a
// folder directly inside `parent`. Ids are validated when read, so this refuses only what should
// never get this far; every path made from a plugin id goes through it all the same.
PLUGINHOSTCORE_EXPORT QString folderForId(const QString &parent, const QString &id);

// `text` quoted for a message the way metadata errors quote values: escapes for what does not
// print (a NUL would end the message early in a C string), cut after 80 characters.
PLUGINHOSTCORE_EXPORT QString quotedForMessage(const QString &text);

} // namespace PluginHost::PluginMetaDataInternal
