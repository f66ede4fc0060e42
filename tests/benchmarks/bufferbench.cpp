// Large bytes to a plugin and back: a PluginHost::Buffer (shared, read-only, never copied)
// against the same bytes as a QByteArray (copied into a Python bytes and back).
#include "measurements.h"
#include "pluginfarm.h"

#include <PluginHost/Buffer>
#include <PluginHost/PluginManager>

#include <stdexcept>

using namespace PluginHost;

namespace Bench
{

namespace
{
const QString exportedId = QStringLiteral("org.bench.exported");
const QString echo = QStringLiteral("echo");
constexpr qsizetype payloadSize = 16 * 1024 * 1024;
constexpr int callsPerBlock = 10;

// callsPerBlock callBlocking("echo", {payload}), each one's round trip in microseconds appended
// to `into` unless it is null (a warm-up block). `check` looks at what came back.
template<typename Check>
void timeEchoes(Plugin *plugin, const QVariant &payload, std::vector<double> *into, Check check)
{
    for (int call = 0; call < callsPerBlock; ++call) {
        const auto start = Clock::now();
        const CallResult result = plugin->callBlocking(echo, {payload});
        const auto end = Clock::now();
        expectSuccess(result, QStringLiteral("echo()"));
        check(result.value());
        if (into) {
            into->push_back(microsecondsBetween(start, end));
        }
    }
}
} // namespace

Result measureBufferPass(const Settings &settings)
{
    PluginFarm farm(settings.fixtures);
    farm.add(QStringLiteral("exported"), exportedId);
    PluginManager manager;
    manager.setSearchPaths({farm.root()});
    manager.discover();
    Plugin *plugin = manager.plugin(exportedId);
    if (!plugin) {
        throw std::runtime_error("the fixture plugin org.bench.exported was not discovered");
    }
    expectSuccess(plugin->load(), QStringLiteral("loading org.bench.exported"));

    QByteArray bytes(payloadSize, 'x'); // every page touched
    const QVariant asBuffer = QVariant::fromValue(Buffer(bytes));
    const QVariant asBytes(bytes);
    const auto sameBytes = [&](const QVariant &returned) {
        if (returned.value<Buffer>().constData() != bytes.constData()) {
            throw std::runtime_error("echo() of a Buffer came back as other bytes");
        }
    };
    const auto copiedBytes = [&](const QVariant &returned) {
        if (returned.metaType() != QMetaType::fromType<QByteArray>() || returned.toByteArray().size() != payloadSize) {
            throw std::runtime_error("echo() of a QByteArray did not come back as one of the same size");
        }
    };

    std::vector<double> shared, copied; // microseconds
    const int blocks = std::max(2, settings.repeat(200) / callsPerBlock);
    runOnWorkerThread([&] {
        timeEchoes(plugin, asBuffer, nullptr, sameBytes);
        timeEchoes(plugin, asBytes, nullptr, copiedBytes);
        for (int block = 0; block < blocks; ++block) {
            if (block % 2 == 0) {
                timeEchoes(plugin, asBuffer, &shared, sameBytes);
                timeEchoes(plugin, asBytes, &copied, copiedBytes);
            } else {
                timeEchoes(plugin, asBytes, &copied, copiedBytes);
                timeEchoes(plugin, asBuffer, &shared, sameBytes);
            }
        }
    });

    Result result;
    result.name = QStringLiteral("buffer_pass_us");
    result.unit = QStringLiteral("us");
    result.value = Statistics::of(shared);
    result.baselineName = QStringLiteral("bytes_pass_us");
    result.baseline = Statistics::of(copied);
    result.note = QStringLiteral("Plugin::callBlocking(\"echo\", {payload}) of plugins/exported from a worker thread, the plugin "
                                 "returning its argument: a 16 MiB PluginHost::Buffer (a pluginhost.Buffer over the host's bytes, "
                                 "handed back as the same QByteArray) vs the same 16 MiB as a QByteArray (copied into a bytes and "
                                 "back); per call, blocks of %1 alternating.")
                      .arg(callsPerBlock);
    return result;
}

} // namespace Bench
