// The smallest application that hosts Python plugins: find them, load them, call one,
// and react to the answer on the main thread without ever blocking it.
//
//   build/python-3.13/bin/pluginhost-minimal [plugin-folder]
#include <PluginHost/PluginManager>

#include <QCoreApplication>
#include <QDebug>

int main(int argc, char **argv)
{
    QCoreApplication application(argc, argv);

    PluginHost::PluginManager manager;
    manager.setSearchPaths({argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral(PLUGINHOST_BUNDLED_PLUGINS)});
    manager.discover();

    PluginHost::Plugin *greeter = manager.plugin(QStringLiteral("org.pluginhost.greeter"));
    if (!greeter) {
        qCritical() << "the greeter plugin was not found in" << manager.searchPaths();
        return 1;
    }

    greeter->load(); // calls made now wait for the load
    greeter->call(QStringLiteral("greet"), {QStringLiteral("Ada"), QStringLiteral("de")})
        .then(&application,
              [](const QVariant &greeting) {
                  qInfo().noquote() << greeting.toString();
                  QCoreApplication::exit(0);
              })
        .onFailed(&application, [](const PluginHost::CallError &failure) {
            qCritical().noquote() << failure.error().errorText();
            QCoreApplication::exit(1);
        });

    return application.exec();
}
