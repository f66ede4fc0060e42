// PluginHost::Buffer and pluginhost.Buffer, end to end with real plugins (tests/data/buffer):
// bytes cross from the host to a plugin, back, to another plugin and out as events without
// being copied (the same address on every side), and no plugin can write to them.
#include "futurehelpers.h"
#include "memoryhelpers.h"

#include <PluginHost/Buffer>
#include <PluginHost/PluginManager>

#include <QFile>
#include <QSignalSpy>
#include <QTest>

#include <array>
#ifdef __GLIBC__
#endif

using namespace PluginHost;
using namespace PluginHost::Tests;

namespace
{
const QString fixtures = QStringLiteral(PLUGINHOST_TEST_DATA "/buffer");
const QString readerId = QStringLiteral("org.test.buffer.reader");
const QString relayId = QStringLiteral("org.test.buffer.relay");
constexpr qsizetype mebibyte = 1024 * 1024;

// `size` bytes of a pattern that is not the same at every offset, every page touched.
QByteArray patterned(qsizetype size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    char *data = bytes.data();
    for (qsizetype i = 0; i < size; ++i) {
        data[i] = char((i * 7 + i / 4096) & 0xff);
    }
    return bytes;
}

// zlib's CRC-32, which the plugin computes with zlib.crc32().
qint64 crc32(const QByteArray &bytes)
{
    static const auto table = [] {
        std::array<quint32, 256> entries{};
        for (quint32 i = 0; i < 256; ++i) {
            quint32 value = i;
            for (int bit = 0; bit < 8; ++bit) {
                value = (value & 1) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
            }
            entries[i] = value;
        }
        return entries;
    }();
    quint32 crc = 0xFFFFFFFFu;
    for (const char byte : bytes) {
        crc = table[(crc ^ quint8(byte)) & 0xFF] ^ (crc >> 8);
    }
    return qint64(crc ^ 0xFFFFFFFFu);
}

QVariant bufferValue(const QByteArray &bytes)
{
    return QVariant::fromValue(Buffer(bytes));
}

qint64 addressOf(const QByteArray &bytes)
{
    return qint64(reinterpret_cast<quintptr>(bytes.constData()));
}

} // namespace

class BufferTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void testCppValueType();
    void testHostBufferReachesThePluginUncopied();
    void testPluginCannotWrite();
    void testBufferComesBackAsTheSameBytes();
    void testBufferMadeByThePlugin();
    void testNestedBuffers();
    void testPythonBehaviour();
    void testPluginToPluginAndEvents();
    void testPluginKeepsBytesTheHostDropped();
    void testPlainByteArrayStillCrossesAsBytes();
    void testRepeatedPassingDoesNotCopy();

private:
    QVariant value(const QString &pluginId, const QString &function, const QVariantList &arguments = {});
    PluginManager *m_manager = nullptr;
};

void BufferTest::initTestCase()
{
    m_manager = new PluginManager(this);
    m_manager->setSearchPaths({fixtures});
    m_manager->discover();
    for (const QString &id : {readerId, relayId}) {
        Plugin *plugin = m_manager->plugin(id);
        QVERIFY2(plugin, qPrintable(id));
        const QFuture<CallResult> load = plugin->load();
        QVERIFY(settle(load));
        QVERIFY2(load.result(), qPrintable(load.result().error().errorText()));
    }
}

void BufferTest::cleanupTestCase()
{
    QVERIFY(settle(m_manager->unloadAll()));
    delete m_manager;
}

QVariant BufferTest::value(const QString &pluginId, const QString &function, const QVariantList &arguments)
{
    const CallResult result = resultOf(m_manager->plugin(pluginId)->call(function, arguments));
    if (!result) {
        qWarning().noquote() << function << "failed:" << result.error().errorText();
    }
    return result.value();
}

void BufferTest::testCppValueType()
{
    const QByteArray bytes = patterned(1000);
    const Buffer buffer(bytes);
    QCOMPARE(buffer.constData(), bytes.constData()); // shared, not copied
    QCOMPARE(buffer.size(), 1000);
    QVERIFY(Buffer().isEmpty());
    QCOMPARE(Buffer(bytes), Buffer(QByteArray(bytes.constData(), bytes.size()))); // equal by content
    QVERIFY(Buffer(bytes) != Buffer(bytes.left(999)));

    const QVariant variant = QVariant::fromValue(buffer);
    QCOMPARE(variant.metaType(), QMetaType::fromType<Buffer>());
    QCOMPARE(variant.value<Buffer>().constData(), bytes.constData());
    QVERIFY(variant.canConvert<QByteArray>());
    QCOMPARE(variant.toByteArray().constData(), bytes.constData()); // the converter shares too
    QCOMPARE(variant, QVariant::fromValue(Buffer(QByteArray(bytes.constData(), bytes.size()))));

    // Bytes it does not own (fromRawData) are copied once: their owner could free them.
    const char raw[] = "not owned";
    const Buffer fromRaw(QByteArray::fromRawData(raw, sizeof raw - 1));
    QVERIFY(fromRaw.constData() != raw);
    QCOMPARE(fromRaw.data(), QByteArray("not owned"));
}

void BufferTest::testHostBufferReachesThePluginUncopied()
{
    const QByteArray bytes = patterned(16 * mebibyte);
    const QVariantMap seen = value(readerId, QStringLiteral("inspect"), {bufferValue(bytes)}).toMap();
    qInfo("host address %#llx, the plugin's memoryview address %#llx", addressOf(bytes), seen.value(QStringLiteral("address")).toLongLong());
    QCOMPARE(seen.value(QStringLiteral("type")).toString(), QStringLiteral("Buffer"));
    QCOMPARE(seen.value(QStringLiteral("address")).toLongLong(), addressOf(bytes));
    QCOMPARE(seen.value(QStringLiteral("readonly")).toBool(), true);
    QCOMPARE(seen.value(QStringLiteral("size")).toLongLong(), 16 * mebibyte);
    QCOMPARE(seen.value(QStringLiteral("nbytes")).toLongLong(), 16 * mebibyte);
    QCOMPARE(seen.value(QStringLiteral("crc32")).toLongLong(), crc32(bytes));

    const QVariantMap empty = value(readerId, QStringLiteral("inspect"), {bufferValue(QByteArray())}).toMap();
    QCOMPARE(empty.value(QStringLiteral("size")).toLongLong(), 0);
    QCOMPARE(empty.value(QStringLiteral("readonly")).toBool(), true);
}

void BufferTest::testPluginCannotWrite()
{
    const QByteArray bytes = patterned(16 * mebibyte);
    const QByteArray before = bytes.left(4096);
    const qint64 checksum = crc32(bytes);
    const QVariantMap outcomes = value(readerId, QStringLiteral("try_to_write"), {bufferValue(bytes)}).toMap();
    for (auto it = outcomes.cbegin(); it != outcomes.cend(); ++it) {
        qInfo().noquote() << it.key() << "->" << it.value().toString();
    }
    const auto outcome = [&](const char *attempt) {
        return outcomes.value(QString::fromLatin1(attempt)).toString();
    };
    QCOMPARE(outcome("view[0] = 1"), QStringLiteral("TypeError: cannot modify read-only memory"));
    QCOMPARE(outcome("view[0:2] = b'xy'"), QStringLiteral("TypeError: cannot modify read-only memory"));
    QCOMPARE(outcome("view.cast('B')[0] = 1"), QStringLiteral("TypeError: cannot modify read-only memory"));
    QCOMPARE(outcome("buffer[0] = 1"), QStringLiteral("TypeError: 'pluginhost.Buffer' object does not support item assignment"));
    QVERIFY2(outcome("buffer += b'x'").startsWith(QLatin1String("TypeError: unsupported operand type(s) for +=")), qPrintable(outcome("buffer += b'x'")));
    QVERIFY2(outcome("buffer.extend(b'x')").startsWith(QLatin1String("AttributeError")), qPrintable(outcome("buffer.extend(b'x')")));
    QVERIFY2(outcome("buffer.x = 1").startsWith(QLatin1String("AttributeError")), qPrintable(outcome("buffer.x = 1")));
    QVERIFY2(outcome("buffer.address = 0").startsWith(QLatin1String("AttributeError")), qPrintable(outcome("buffer.address = 0")));
    QCOMPARE(outcome("os.readv(fd, [buffer])"),
             QStringLiteral("BufferError: pluginhost.Buffer is read-only: its bytes may be shared with the host and other plugins; "
                            "to change them, change a copy: bytearray(buffer)"));
    QCOMPARE(outcomes.value(QStringLiteral("unchanged")).toBool(), true);
    QCOMPARE(bytes.left(4096), before);
    QCOMPARE(crc32(bytes), checksum);
}

void BufferTest::testBufferComesBackAsTheSameBytes()
{
    const QByteArray bytes = patterned(16 * mebibyte);
    const QVariant returned = value(readerId, QStringLiteral("echo"), {bufferValue(bytes)});
    QCOMPARE(returned.metaType(), QMetaType::fromType<Buffer>());
    const Buffer buffer = returned.value<Buffer>();
    qInfo("sent %p, got back %p", static_cast<const void *>(bytes.constData()), static_cast<const void *>(buffer.constData()));
    QCOMPARE(buffer.constData(), bytes.constData());
    QCOMPARE(buffer.size(), bytes.size());
    QVERIFY(buffer.data().isSharedWith(bytes)); // one QByteArray, shared
}

void BufferTest::testBufferMadeByThePlugin()
{
    const QVariant made = value(readerId, QStringLiteral("make"), {QStringLiteral("grüße")});
    QCOMPARE(made.metaType(), QMetaType::fromType<Buffer>());
    QCOMPARE(made.value<Buffer>().data(), QStringLiteral("grüße").toUtf8());
    QCOMPARE(made.toByteArray(), QStringLiteral("grüße").toUtf8());
}

void BufferTest::testNestedBuffers()
{
    const QByteArray first = patterned(mebibyte);
    const QByteArray second = patterned(2 * mebibyte);
    const QVariantMap sent{
        {QStringLiteral("frames"), QVariantList{bufferValue(first), 7, QVariantMap{{QStringLiteral("inner"), bufferValue(second)}}}},
        {QStringLiteral("name"), QStringLiteral("clip")},
    };
    const QVariantMap echoed = value(readerId, QStringLiteral("echo"), {sent}).toMap();
    const QVariantList frames = echoed.value(QStringLiteral("frames")).toList();
    QCOMPARE(frames.size(), 3);
    QCOMPARE(frames.at(0).value<Buffer>().constData(), first.constData());
    QCOMPARE(frames.at(1).toLongLong(), 7);
    QCOMPARE(frames.at(2).toMap().value(QStringLiteral("inner")).value<Buffer>().constData(), second.constData());
    QCOMPARE(echoed.value(QStringLiteral("name")).toString(), QStringLiteral("clip"));
    QCOMPARE(echoed, QVariant(sent).toMap());

    // Built in the plugin: one buffer at several places, a tuple, and one made there.
    const QVariantMap nested = value(readerId, QStringLiteral("nested"), {bufferValue(first)}).toMap();
    const QVariantList list = nested.value(QStringLiteral("list")).toList();
    QCOMPARE(list.at(0).value<Buffer>().constData(), first.constData());
    QCOMPARE(list.at(2).toList().at(0).value<Buffer>().constData(), first.constData());
    QCOMPARE(nested.value(QStringLiteral("tuple")).toList().at(0).value<Buffer>().constData(), first.constData());
    QCOMPARE(nested.value(QStringLiteral("made")).value<Buffer>().data(), QByteArray("made here"));
}

void BufferTest::testPythonBehaviour()
{
    const QVariantMap observed = value(readerId, QStringLiteral("behaviour")).toMap();
    QVERIFY(!observed.isEmpty());
    const auto at = [&](const char *key) {
        return observed.value(QString::fromLatin1(key));
    };
    QCOMPARE(at("repr").toString(), QStringLiteral("<pluginhost.Buffer of 11 bytes>"));
    QCOMPARE(at("len").toLongLong(), 11);
    QCOMPARE(at("bool"), QVariant(QVariantList{true, false}));
    QCOMPARE(at("bytes").toByteArray(), QByteArray("hello world"));
    QCOMPARE(at("bytes").metaType(), QMetaType::fromType<QByteArray>()); // bytes(buffer) is bytes
    QCOMPARE(at("eq"), QVariant(QVariantList{true, true, true, true, true, true, false, false}));
    QCOMPARE(at("slice").toByteArray(), QByteArray("world"));
    QCOMPARE(at("slice shares").toBool(), true);
    QCOMPARE(at("same object").toBool(), true);
    QCOMPARE(at("from bytearray").toByteArray(), QByteArray("abc"));
    QCOMPARE(at("from memoryview").toByteArray(), QByteArray("cd"));
    QCOMPARE(at("copy at creation").toBool(), true);
    QCOMPARE(at("from str").toString(), QStringLiteral("TypeError: a bytes-like object is required, not 'str'"));
    QCOMPARE(at("from int").toString(), QStringLiteral("TypeError: a bytes-like object is required, not 'int'"));
    const QString oneArgument = QStringLiteral("TypeError: Buffer() takes one argument, a bytes-like object (bytes, bytearray, memoryview, ...), positionally");
    QCOMPARE(at("no argument").toString(), oneArgument);
    QCOMPARE(at("keyword").toString(), oneArgument);
    QCOMPARE(at("hash").toString(), QStringLiteral("TypeError: unhashable type: 'pluginhost.Buffer'"));
    QVERIFY2(at("order").toString().startsWith(QLatin1String("TypeError: '<' not supported")), qPrintable(at("order").toString()));
    QVERIFY2(at("subclass").toString().startsWith(QLatin1String("TypeError")), qPrintable(at("subclass").toString()));
    QCOMPARE(at("dict").toBool(), false);
    QCOMPARE(at("signature").toString(), QStringLiteral("(data, /)"));
    QCOMPARE(at("module").toString(), QStringLiteral("pluginhost"));
    QCOMPARE(at("zlib").toBool(), true);
    QCOMPARE(at("find").toLongLong(), 2);
}

void BufferTest::testPluginToPluginAndEvents()
{
    const QByteArray bytes = patterned(4 * mebibyte);
    const qint64 address = addressOf(bytes);

    // host -> relay -> pluginhost.call -> reader, and back: the same bytes all the way.
    const QVariantMap forwarded = value(relayId, QStringLiteral("forward"), {bufferValue(bytes)}).toMap();
    QCOMPARE(forwarded.value(QStringLiteral("own address")).toLongLong(), address);
    const QVariantMap seen = forwarded.value(QStringLiteral("seen")).toMap();
    QCOMPARE(seen.value(QStringLiteral("address")).toLongLong(), address);
    QCOMPARE(seen.value(QStringLiteral("readonly")).toBool(), true);
    QCOMPARE(forwarded.value(QStringLiteral("returned type")).toString(), QStringLiteral("Buffer"));
    QCOMPARE(forwarded.value(QStringLiteral("returned address")).toLongLong(), address);

    // An event the relay emits reaches the host and the subscribed reader with the same bytes.
    QSignalSpy emitted(m_manager, &PluginManager::eventEmitted);
    const qsizetype before = value(readerId, QStringLiteral("received_addresses")).toList().size();
    value(relayId, QStringLiteral("emit"), {bufferValue(bytes)});
    QVERIFY(QTest::qWaitFor([&] {
        return !emitted.isEmpty();
    }));
    const QVariantMap payload = emitted.first().at(2).toMap();
    QCOMPARE(payload.value(QStringLiteral("frame")).value<Buffer>().constData(), bytes.constData());
    QCOMPARE(payload.value(QStringLiteral("size")).toLongLong(), bytes.size());
    QVariantList addresses;
    QVERIFY(QTest::qWaitFor([&] {
        addresses = value(readerId, QStringLiteral("received_addresses")).toList();
        return addresses.size() > before;
    }));
    QCOMPARE(addresses.last().toLongLong(), address);

    // And one the host broadcasts.
    m_manager->broadcast(QStringLiteral("frame"), QVariantMap{{QStringLiteral("frame"), bufferValue(bytes)}});
    QVERIFY(QTest::qWaitFor([&] {
        addresses = value(readerId, QStringLiteral("received_addresses")).toList();
        return addresses.size() > before + 1;
    }));
    QCOMPARE(addresses.last().toLongLong(), address);
}

void BufferTest::testPluginKeepsBytesTheHostDropped()
{
    qint64 checksum = 0;
    {
        const QByteArray bytes = patterned(8 * mebibyte);
        checksum = crc32(bytes);
        QCOMPARE(value(readerId, QStringLiteral("keep"), {bufferValue(bytes)}).toLongLong(), 1);
    } // the host's last reference goes here; the plugin's keeps the bytes
    const QByteArray overwrite(8 * mebibyte, 'x'); // would reuse the bytes' memory, had it been freed
    QCOMPARE(value(readerId, QStringLiteral("kept_checksums")), QVariant(QVariantList{checksum}));
    value(readerId, QStringLiteral("release"));
}

void BufferTest::testPlainByteArrayStillCrossesAsBytes()
{
    const QByteArray bytes = patterned(mebibyte);
    QCOMPARE(value(readerId, QStringLiteral("echo"), {bytes}).metaType(), QMetaType::fromType<QByteArray>());
    const QVariant echoed = value(readerId, QStringLiteral("echo"), {bytes});
    QCOMPARE(echoed.toByteArray(), bytes);
    QVERIFY(echoed.toByteArray().constData() != bytes.constData()); // bytes are copies
}

void BufferTest::testRepeatedPassingDoesNotCopy()
{
    constexpr int passes = 20;
    const QByteArray bytes = patterned(64 * mebibyte);
    const qint64 before = residentKiB();
    QVariantList results; // every result kept alive, and the plugin keeps every buffer too
    for (int pass = 0; pass < passes; ++pass) {
        results.append(value(readerId, QStringLiteral("echo"), {bufferValue(bytes)}));
        QCOMPARE(value(readerId, QStringLiteral("keep"), {bufferValue(bytes)}).toLongLong(), pass + 1);
    }
    const qint64 after = residentKiB();
    qInfo("RSS with one 64 MiB buffer: %lld KiB; after passing it %d times there and back and keeping every copy on "
          "both sides: %lld KiB (growth %lld KiB; a copy each way would be %lld KiB)",
          before,
          passes,
          after,
          after - before,
          qint64(passes) * 2 * 64 * 1024);
    for (const QVariant &result : std::as_const(results)) {
        QCOMPARE(result.value<Buffer>().constData(), bytes.constData());
    }
    QVERIFY2(after - before < 64 * 1024, qPrintable(QStringLiteral("RSS grew by %1 KiB").arg(after - before)));
    value(readerId, QStringLiteral("release"));
}

QTEST_GUILESS_MAIN(BufferTest)
#include "buffertest.moc"
