// Which folder gets a plugin id, as an application sees it through PluginManager: folders of
// one search path that share an id are all refused, an earlier search path overrides a later
// one, and no id leads a plugin's data folder out of the data location.
#include "futurehelpers.h"

#include <PluginHost/PluginManager>

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
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
const QString hostilePlugins = fixtures + QStringLiteral("/hostile");

const QString overrideId = QStringLiteral("org.test.override");
const QString squattedId = QStringLiteral("org.test.squatted");
const QString canaryId = QStringLiteral("org.test.canary");

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

// Everything under `root`, relative to it, sorted.
QStringList contents(const QString &root)
{
    QStringList found;
    QDirIterator entries(root, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (entries.hasNext()) {
        found.append(QDir(root).relativeFilePath(entries.next()));
    }
    found.sort();
    return found;
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
    void testHostileIdsGetNoDataFolder();

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

void DiscoveryTest::testHostileIdsGetNoDataFolder()
{
    // Ids ".", "..", "org.test/../../escape" and one with a NUL: each would name a folder outside
    // profile/plugins. None of them is a plugin, so none runs or gets a data folder.
    PluginManager *manager = makeManager({hostilePlugins});
    for (int i = 0; i < 4; ++i) {
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("^not a usable plugin: .*/metadata.json: KPlugin.Id: ")));
    }
    manager->discover();

    QCOMPARE(idsOf(manager->plugins()), QStringList{canaryId});
    QStringList failed;
    for (const PluginMetaData::Failure &failure : manager->failures()) {
        failed.append(QFileInfo(failure.directory).fileName());
        // The NUL is written as an escape: the message goes on to say what to write instead.
        QVERIFY2(!failure.errorText.contains(QChar(u'\0')), qPrintable(failure.errorText));
        QVERIFY2(failure.errorText.endsWith(QLatin1String("e.g. \"org.example.echo\"")), qPrintable(failure.errorText));
    }
    failed.sort();
    QCOMPARE(failed, (QStringList{QStringLiteral("dot"), QStringLiteral("dotdot"), QStringLiteral("escape"), QStringLiteral("nul")}));

    QVERIFY(settle(manager->loadAll()));
    const QString dataLocation = m_root->filePath(QStringLiteral("profile/plugins"));
    QCOMPARE(valueOf(manager->plugin(canaryId), QStringLiteral("data_dir")).toString(), dataLocation + QLatin1Char('/') + canaryId);

    // The canary's folder is the only one made under the data location, and nothing was made beside it.
    QCOMPARE(contents(dataLocation), QStringList{canaryId});
    const QStringList profile = contents(m_root->filePath(QStringLiteral("profile")));
    for (const QString &entry : profile) {
        QVERIFY2(entry.startsWith(QLatin1String("pluginhost.sqlite")) || entry == QLatin1String("plugins") || entry.startsWith(QLatin1String("plugins/")),
                 qPrintable(entry));
    }
    QCOMPARE(contents(m_root->path()).filter(QRegularExpression(QStringLiteral("^[^/]*$"))), QStringList{QStringLiteral("profile")});
}

QTEST_GUILESS_MAIN(DiscoveryTest)

#include "discoverytest.moc"
