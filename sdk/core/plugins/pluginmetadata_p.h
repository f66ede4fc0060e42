#pragma once

#include "pluginhostcore_export.h"

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
};

// Exported only for the tests.
PLUGINHOSTCORE_EXPORT KnownKeys knownKeys();

} // namespace PluginHost::PluginMetaDataInternal
