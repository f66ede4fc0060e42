// A second process for storagetest:
//   storagehelper write PROFILE PLUGIN_DIR   loads org.test.keeper and stores k<i> = i for i = 0, 1, …,
//                                            printing i once each write returned; runs until killed
//   storagehelper lock PROFILE               holds an exclusive transaction on the profile's database,
//                                            prints "locked", and waits to be killed
#include <PluginHost/PluginManager>

#include <QCoreApplication>
#include <QDir>
#include <QThread>

#include <sqlite3.h>

#include <cstdio>

using namespace PluginHost;

namespace
{
int write(const QString &profile, const QString &pluginDir)
{
    PluginManager manager;
    manager.setProfileDirectory(profile);
    manager.setSearchPaths({pluginDir});
    manager.discover();
    Plugin *keeper = manager.plugin(QStringLiteral("org.test.keeper"));
    if (!keeper) {
        std::fprintf(stderr, "no org.test.keeper in %s\n", qPrintable(pluginDir));
        return 1;
    }
    QFuture<CallResult> load = keeper->load();
    load.waitForFinished();
    if (!load.result()) {
        std::fprintf(stderr, "%s\n", qPrintable(load.result().error().errorText()));
        return 1;
    }
    for (qlonglong i = 0;; ++i) {
        const CallResult result = keeper->callBlocking(QStringLiteral("put"), {QStringLiteral("k%1").arg(i), i});
        if (!result) {
            std::fprintf(stderr, "%s\n", qPrintable(result.error().errorText()));
            return 1;
        }
        std::printf("%lld\n", i);
        std::fflush(stdout);
    }
}

int lock(const QString &profile)
{
    sqlite3 *db = nullptr;
    const QByteArray file = QFile::encodeName(QDir(profile).filePath(QStringLiteral("pluginhost.sqlite")));
    if (sqlite3_open_v2(file.constData(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK
        || sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "cannot lock %s: %s\n", file.constData(), sqlite3_errmsg(db));
        return 1;
    }
    std::printf("locked\n");
    std::fflush(stdout);
    for (;;) {
        QThread::sleep(1);
    }
}
} // namespace

int main(int argc, char **argv)
{
    QCoreApplication application(argc, argv);
    const QStringList arguments = application.arguments();
    if (arguments.size() == 4 && arguments.at(1) == QLatin1String("write")) {
        return write(arguments.at(2), arguments.at(3));
    }
    if (arguments.size() == 3 && arguments.at(1) == QLatin1String("lock")) {
        return lock(arguments.at(2));
    }
    std::fprintf(stderr, "usage: storagehelper write PROFILE PLUGIN_DIR | storagehelper lock PROFILE\n");
    return 2;
}
