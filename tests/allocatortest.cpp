// Runtime::Options::systemAllocator: a process whose CPython runs on malloc() instead of
// pymalloc. The allocator is chosen once per process, so this is a test program of its own.
#include "futurehelpers.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QTest>

using namespace PluginHost;
using namespace PluginHost::Tests;

class AllocatorTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        Runtime::Options options;
        options.systemAllocator = true;
        QVERIFY(Runtime::configure(options));
    }

    void testPluginsRunOnMalloc()
    {
        PluginManager manager;
        manager.setSearchPaths({QStringLiteral(PLUGINHOST_TEST_DATA "/allocator")});
        manager.discover();
        Plugin *plugin = manager.plugin(QStringLiteral("org.test.blocks"));
        QVERIFY(plugin);
        const QFuture<CallResult> load = plugin->load();
        QVERIFY(settle(load));
        QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));

        // pymalloc counts the blocks it hands out; with malloc() nothing is counted.
        const CallResult blocks = plugin->callBlocking(QStringLiteral("allocated_blocks"));
        QVERIFY2(blocks, qPrintable(blocks.error().errorText()));
        QCOMPARE(blocks.value().toLongLong(), 0);

        const CallResult built = plugin->callBlocking(QStringLiteral("build"), {10000});
        QVERIFY2(built, qPrintable(built.error().errorText()));
        QCOMPARE(built.value().toLongLong(), 38890); // the digits of 0..9999

        // The choice is made once, when CPython starts.
        QVERIFY(!Runtime::configure(Runtime::Options()));
        QVERIFY(settle(plugin->unload()));
    }
};

QTEST_GUILESS_MAIN(AllocatorTest)
#include "allocatortest.moc"
