// Which folder gets a plugin id, as an application sees it through PluginManager: folders of
// one search path that share an id are all refused, and an earlier search path overrides a later one.
#include "futurehelpers.h"

#include <PluginHost/PluginManager>

#include <QDir>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace PluginHost;
using namespace PluginHost::Tests;

namespace
{
const QString fixtures = QDir::cleanPath(QStringLiteral(PLUGINHOST_TEST_DATA "/discovery"));
const QString userPlugins = fixtures + QStringLiteral("/user");
const QString systemPlugins = fixtures + QStringLiteral("/system");

const QString overrideId = QStringLiteral("org.test.override");
const QString squattedId = QStringLiteral("org.test.squatted");

QVariant valueOf(Plugin *plugin, const QString &function)
{
    const CallResult result = resultOf(plugin->call(function));
    if (!result) {
        qWarning().noquote() << result.error().errorText();
        return {};
    }
    return result.value();
}

QStringList idsOf(const QList<Plugin *> &plugins)
{
    QStringList ids;
    for (const Plugin *plugin : plugins) {
        ids.append(plugin->id());
    }
    ids.sort();
    return ids;
}
} // namespace

class DiscoveryTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void testDuplicateIdInOneSearchPath();
    void testEarlierSearchPathWins();

private:
    // A manager whose profile and data live in a fresh temporary folder.
    PluginManager *makeManager(const QStringList &searchPaths);

    std::unique_ptr<QTemporaryDir> m_root;
    std::unique_ptr<PluginManager> m_manager;
};

void DiscoveryTest::init()
{
    m_root = std::make_unique<QTemporaryDir>();
    QVERIFY(m_root->isValid());
}

void DiscoveryTest::cleanup()
{
    if (m_manager) {
        QVERIFY(settle(m_manager->unloadAll()));
    }
    m_manager.reset();
    m_root.reset();
}

PluginManager *DiscoveryTest::makeManager(const QStringList &searchPaths)
{
    m_manager = std::make_unique<PluginManager>();
    m_manager->setProfileDirectory(m_root->filePath(QStringLiteral("profile")));
    m_manager->setDataLocation(m_root->filePath(QStringLiteral("profile/plugins")));
    m_manager->setSearchPaths(searchPaths);
    return m_manager.get();
}

void DiscoveryTest::testDuplicateIdInOneSearchPath()
{
    // system/aaa-squatter sorts before system/squatted and has its id: neither of them loads.
    PluginManager *manager = makeManager({systemPlugins});
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^not a usable plugin: .*/aaa-squatter/metadata.json: KPlugin.Id: ")));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^not a usable plugin: .*/squatted/metadata.json: KPlugin.Id: ")));
    manager->discover();

    QVERIFY(!manager->plugin(squattedId));
    QCOMPARE(idsOf(manager->plugins()), QStringList{overrideId});
    QVERIFY(manager->shadowed().isEmpty());

    const QString squatter = systemPlugins + QStringLiteral("/aaa-squatter");
    const QString genuine = systemPlugins + QStringLiteral("/squatted");
    const QList<PluginMetaData::Failure> failures = manager->failures();
    QCOMPARE(failures.size(), 2);
    QCOMPARE(failures.at(0).directory, squatter);
    QCOMPARE(failures.at(1).directory, genuine);
    // Each names the other folder, so that the user can tell which one to remove.
    QVERIFY2(failures.at(0).errorText.contains(QStringLiteral("\"org.test.squatted\" is also the id of the plugin in %1, in the same search path; none of "
                                                              "them is loaded")
                                                   .arg(genuine)),
             qPrintable(failures.at(0).errorText));
    QVERIFY2(failures.at(1).errorText.contains(QStringLiteral("is also the id of the plugin in %1,").arg(squatter)), qPrintable(failures.at(1).errorText));

    // Loading everything runs neither of them.
    QVERIFY(settle(manager->loadAll()));
    QCOMPARE(manager->plugin(overrideId)->state(), Plugin::State::Loaded);
    QCOMPARE(valueOf(manager->plugin(overrideId), QStringLiteral("where")).toString(), QStringLiteral("system"));
    QVERIFY(!manager->plugin(squattedId));
}

void DiscoveryTest::testEarlierSearchPathWins()
{
    // The user's folder comes first: its copy of org.test.override is used, the application's shadowed.
    PluginManager *manager = makeManager({userPlugins, systemPlugins});
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^not a usable plugin: ")));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^not a usable plugin: ")));
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression(QStringLiteral("^plugin not used: %1/override/metadata.json: KPlugin.Id: \"org.test.override\" is shadowed "
                                                           "by the plugin in %2/override, in an earlier search path")
                                                .arg(QRegularExpression::escape(systemPlugins), QRegularExpression::escape(userPlugins))));
    manager->discover();

    Plugin *plugin = manager->plugin(overrideId);
    QVERIFY(plugin);
    QCOMPARE(plugin->metaData().directory(), userPlugins + QStringLiteral("/override"));
    QCOMPARE(idsOf(manager->plugins()), QStringList{overrideId});

    const QList<PluginMetaData::Shadowed> shadowed = manager->shadowed();
    QCOMPARE(shadowed.size(), 1);
    QCOMPARE(shadowed.at(0).directory, systemPlugins + QStringLiteral("/override"));
    QCOMPARE(shadowed.at(0).id, overrideId);
    QCOMPARE(shadowed.at(0).usedDirectory, userPlugins + QStringLiteral("/override"));
    // Shadowing is no failure: only the two folders sharing an id within system/ are.
    QCOMPARE(manager->failures().size(), 2);

    QVERIFY(settle(manager->loadAll()));
    QCOMPARE(valueOf(plugin, QStringLiteral("where")).toString(), QStringLiteral("user"));
}

QTEST_GUILESS_MAIN(DiscoveryTest)

#include "discoverytest.moc"
