// What hostiletest and hostiledriver share about the corpus: the canary's id and how a plugin
// folder is put into a search path of its own.
#pragma once

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QString>

namespace PluginHost::Hostile
{

inline const QString canaryId = QStringLiteral("org.pluginhost.hostile.canary");

/// Copies the folder `source`, with everything below it, to `target` (which must not exist).
/// The copy, not the corpus itself, is what the host sees: plugins may write into their folder,
/// and the metadata attacks are inflated in the copy only.
inline bool copyFolder(const QString &source, const QString &target)
{
    if (!QDir().mkpath(target)) {
        return false;
    }
    QDirIterator it(source, QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    const QDir sourceDir(source);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString copy = QDir(target).filePath(sourceDir.relativeFilePath(path));
        if (QFileInfo(path).isDir()) {
            if (!QDir().mkpath(copy)) {
                return false;
            }
        } else if (!QDir().mkpath(QFileInfo(copy).path()) || !QFile::copy(path, copy)) {
            return false;
        }
    }
    return true;
}

} // namespace PluginHost::Hostile
