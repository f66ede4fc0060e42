#include "pluginfarm.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <exception>
#include <stdexcept>
#include <thread>

using namespace PluginHost;

namespace Bench
{

PluginFarm::PluginFarm(const QString &fixtures)
    : m_fixtures(fixtures)
{
    if (!m_root.isValid()) {
        throw std::runtime_error("could not create a temporary folder for the fixture plugins");
    }
}

QString PluginFarm::add(const QString &fixture, const QString &id, Gil gil)
{
    const QDir source(QDir(m_fixtures).filePath(fixture));
    const QString target = QDir(m_root.path()).filePath(id);
    if (!source.exists() || !QDir().mkpath(target)) {
        throw std::runtime_error(QStringLiteral("cannot copy the fixture plugin %1 to %2").arg(source.path(), target).toStdString());
    }
    const QStringList files = source.entryList({QStringLiteral("*.py")}, QDir::Files);
    for (const QString &file : files) {
        if (!QFile::copy(source.filePath(file), QDir(target).filePath(file))) {
            throw std::runtime_error(QStringLiteral("cannot copy %1 to %2").arg(source.filePath(file), target).toStdString());
        }
    }

    QFile metaDataFile(source.filePath(QStringLiteral("metadata.json")));
    if (!metaDataFile.open(QIODevice::ReadOnly)) {
        throw std::runtime_error(QStringLiteral("cannot read %1").arg(metaDataFile.fileName()).toStdString());
    }
    QJsonObject metaData = QJsonDocument::fromJson(metaDataFile.readAll()).object();
    QJsonObject kplugin = metaData.value(QStringLiteral("KPlugin")).toObject();
    kplugin.insert(QStringLiteral("Id"), id);
    metaData.insert(QStringLiteral("KPlugin"), kplugin);
    if (gil == Gil::Shared) {
        metaData.insert(QStringLiteral("X-PluginHost-Isolation"), QStringLiteral("shared"));
    }
    QFile copy(QDir(target).filePath(QStringLiteral("metadata.json")));
    if (!copy.open(QIODevice::WriteOnly) || copy.write(QJsonDocument(metaData).toJson()) < 0) {
        throw std::runtime_error(QStringLiteral("cannot write %1").arg(copy.fileName()).toStdString());
    }
    return target;
}

QString PluginFarm::root() const
{
    return m_root.path();
}

void expectSuccess(const CallResult &result, const QString &what)
{
    if (!result) {
        throw std::runtime_error(QStringLiteral("%1 failed: %2").arg(what, result.error().errorText()).toStdString());
    }
}

void expectSuccess(const QFuture<CallResult> &future, const QString &what)
{
    QFuture<CallResult> waited = future;
    waited.waitForFinished();
    if (waited.resultCount() == 0) {
        throw std::runtime_error(QStringLiteral("%1 finished without a result").arg(what).toStdString());
    }
    expectSuccess(waited.result(), what);
}

void runOnWorkerThread(const std::function<void()> &work)
{
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            work();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

} // namespace Bench
