#include "headless.h"
#include "standardoutput.h"

#include "pluginhost_version.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include <cstdio>
#include <memory>

namespace
{
QStringList defaultPluginDirs()
{
    // Next to the sources in a build tree; the installed folder otherwise.
    for (const QString &dir : {QStringLiteral(PLUGINHOST_BUNDLED_PLUGINS), QStringLiteral(PLUGINHOST_INSTALLED_PLUGINS)}) {
        if (QFileInfo(dir).isDir()) {
            return {dir};
        }
    }
    return {};
}
} // namespace

int main(int argc, char **argv)
{
    QCoreApplication application(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("pluginhost"));
    QCoreApplication::setOrganizationDomain(QStringLiteral("pluginhost.org"));
    QCoreApplication::setApplicationVersion(QStringLiteral(PLUGINHOST_VERSION_STRING));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Runs Python plugins, each in its own subinterpreter."));
    parser.addHelpOption();
    const QCommandLineOption versionOption(QStringLiteral("version"), QStringLiteral("Print the PluginHost and CPython versions."));
    parser.addOption(versionOption);
    parser.addOptions({
        {QStringLiteral("headless"), QStringLiteral("Run without a window: for scripts and CI.")},
        {QStringLiteral("plugin-dir"), QStringLiteral("Search <dir> for plugins (repeatable; default: the bundled plugins)."), QStringLiteral("dir")},
        {QStringLiteral("profile"),
         QStringLiteral("Keep the registry and the plugins' storage in <dir>/pluginhost.sqlite (default: the application data folder)."),
         QStringLiteral("dir")},
        {QStringLiteral("list"), QStringLiteral("Load the enabled plugins and print all of them as a JSON array.")},
        {QStringLiteral("enable"), QStringLiteral("Enable plugin <id> for --list and later runs (kept in the profile; repeatable)."), QStringLiteral("id")},
        {QStringLiteral("disable"), QStringLiteral("Disable plugin <id> for --list and later runs (kept in the profile; repeatable)."), QStringLiteral("id")},
        {QStringLiteral("call"),
         QStringLiteral("Load plugin <id> and call the function named by the first argument; print the result as JSON."),
         QStringLiteral("id")},
        {QStringLiteral("args"), QStringLiteral("Arguments for --call, as a JSON array (default: [])."), QStringLiteral("json")},
        {QStringLiteral("timeout"),
         QStringLiteral("With --call: give up after <ms> milliseconds (loading included), print which plugin and function timed out "
                        "with the plugin's Python stack on stderr, and exit with code 2."),
         QStringLiteral("ms")},
    });
    parser.addPositionalArgument(QStringLiteral("function"), QStringLiteral("With --call: the function to call."), QStringLiteral("[function]"));
    parser.process(application);

    if (parser.isSet(versionOption)) {
        std::printf("pluginhost %s (PluginHost SDK %s, CPython %s)\n",
                    PLUGINHOST_VERSION_STRING,
                    PLUGINHOST_VERSION_STRING,
                    qPrintable(PluginHost::Runtime::pythonVersion()));
        return 0;
    }
    if (!parser.isSet(QStringLiteral("headless"))) {
        std::fprintf(stderr, "pluginhost: the window is not part of this build yet; run with --headless (see --help)\n");
        return 2;
    }
    const bool changesRegistry = parser.isSet(QStringLiteral("enable")) || parser.isSet(QStringLiteral("disable"));
    if (!parser.isSet(QStringLiteral("list")) && !parser.isSet(QStringLiteral("call")) && !changesRegistry) {
        std::fprintf(stderr, "pluginhost: --headless needs --list, --call <id> <function>, --enable <id> or --disable <id> (see --help)\n");
        return 2;
    }
    if (parser.isSet(QStringLiteral("call")) && parser.positionalArguments().size() != 1) {
        std::fprintf(stderr, "pluginhost: --call <id> needs exactly one function name after the options, e.g. --call org.example.echo echo\n");
        return 2;
    }
    std::chrono::milliseconds timeout{0};
    if (parser.isSet(QStringLiteral("timeout"))) {
        bool valid = false;
        timeout = std::chrono::milliseconds(parser.value(QStringLiteral("timeout")).toLongLong(&valid));
        if (!valid || timeout.count() <= 0 || !parser.isSet(QStringLiteral("call"))) {
            std::fprintf(stderr, "pluginhost: --timeout needs --call and a positive number of milliseconds, e.g. --timeout 5000\n");
            return 2;
        }
    }

    // Before any plugin runs: what it writes to stdout must not mix with the JSON.
    const int output = reserveStandardOutput();
    HeadlessHost::routeLogToStandardError();

    auto manager = std::make_unique<PluginHost::PluginManager>();
    QStringList dirs = parser.values(QStringLiteral("plugin-dir"));
    for (QString &dir : dirs) {
        dir = QDir(dir).absolutePath();
    }
    manager->setSearchPaths(dirs.isEmpty() ? defaultPluginDirs() : dirs);
    if (parser.isSet(QStringLiteral("profile"))) {
        manager->setProfileDirectory(QDir(parser.value(QStringLiteral("profile"))).absolutePath());
    }
    manager->discover();

    HeadlessHost host(manager.get(), output);
    host.setTimeout(timeout);
    host.start(parser);
    const int exitCode = application.exec();
    // The plugins unload here, while the host still exists: the futures of calls still under
    // way end now, and their continuations have the host as context (Qt 6.4 asserts on a
    // continuation whose context is gone).
    manager.reset();
    return exitCode;
}
