// Reloading a plugin that hands its state over (plugins/stateful): how long a reload takes
// beside an unload followed by a load, and how much memory every reload leaves behind beside
// the floor of creating and ending raw interpreters.
#include "measurements.h"
#include "pluginfarm.h"
#include "rawinterpreter.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QCoreApplication>
#include <QDir>

#include <cstdio>
#include <stdexcept>

using namespace PluginHost;

namespace Bench
{

namespace
{
const QString statefulId = QStringLiteral("org.bench.stateful");
const QString minimalId = QStringLiteral("org.bench.minimal");
constexpr int leakWarmUpCycles = 50;
constexpr int leakCycles = 1000;
constexpr int leakSegmentCycles = 100;

// The stateful plugin, loaded, with the number of state handovers it has seen so far.
class StatefulPlugin
{
public:
    explicit StatefulPlugin(const QString &pluginsRoot)
    {
        m_manager.setSearchPaths({pluginsRoot});
        m_manager.discover();
        m_plugin = m_manager.plugin(statefulId);
        if (!m_plugin) {
            throw std::runtime_error("the fixture plugin org.bench.stateful was not discovered");
        }
        expectSuccess(m_plugin->load(), QStringLiteral("loading org.bench.stateful"));
    }

    Plugin *plugin() const
    {
        return m_plugin;
    }

    void reload()
    {
        expectSuccess(m_plugin->reload(), QStringLiteral("reloading org.bench.stateful"));
        ++m_handovers;
    }

    // The state the plugin received must have counted every handover: the benchmark measured
    // what it claims only if it did.
    void checkHandovers() const
    {
        const CallResult count = m_plugin->callBlocking(QStringLiteral("reload_count"));
        expectSuccess(count, QStringLiteral("reload_count()"));
        if (count.value().toLongLong() != m_handovers) {
            throw std::runtime_error(QStringLiteral("org.bench.stateful saw %1 state handovers, not %2")
                                         .arg(count.value().toLongLong())
                                         .arg(m_handovers)
                                         .toStdString());
        }
    }

    void countHandover()
    {
        ++m_handovers;
    }

private:
    PluginManager m_manager;
    Plugin *m_plugin = nullptr;
    qint64 m_handovers = 0;
};

// Runs this program again with --leak-probe; returns the KiB per cycle of each segment.
std::vector<double> probeReloadLeak(const Settings &settings, const QString &mode, const QString &pluginsRoot)
{
    const QStringList fields = runProbe(settings, QStringLiteral("--leak-probe"), mode, pluginsRoot, std::chrono::minutes(5), QStringLiteral("leak probe")).split(QLatin1Char(' '));
    std::vector<double> perSegment;
    for (const QString &field : fields) {
        bool ok = false;
        perSegment.push_back(field.toDouble(&ok));
        if (!ok) {
            throw std::runtime_error(QStringLiteral("the %1 leak probe printed \"%2\"").arg(mode, field).toStdString());
        }
    }
    return perSegment;
}
} // namespace

Result measureReload(const Settings &settings)
{
    PluginFarm farm(settings.fixtures);
    farm.add(QStringLiteral("stateful"), statefulId);
    StatefulPlugin stateful(farm.root());
    Plugin *plugin = stateful.plugin();

    std::vector<double> reloads, unloadThenLoad; // milliseconds
    const auto reloadCycle = [&](std::vector<double> *into) {
        const auto start = Clock::now();
        stateful.reload();
        if (into) {
            into->push_back(millisecondsBetween(start, Clock::now()));
        }
    };
    const auto unloadLoadCycle = [&](std::vector<double> *into) {
        const auto start = Clock::now();
        expectSuccess(plugin->unload(), QStringLiteral("unloading org.bench.stateful"));
        expectSuccess(plugin->load(), QStringLiteral("loading org.bench.stateful"));
        stateful.countHandover(); // load() hands over what on_unload() returned, too
        if (into) {
            into->push_back(millisecondsBetween(start, Clock::now()));
        }
    };
    for (int warmUp = 0; warmUp < 3; ++warmUp) {
        reloadCycle(nullptr);
        unloadLoadCycle(nullptr);
    }
    const int repeat = settings.repeat(60);
    for (int index = 0; index < repeat; ++index) {
        if (index % 2 == 0) {
            reloadCycle(&reloads);
            unloadLoadCycle(&unloadThenLoad);
        } else {
            unloadLoadCycle(&unloadThenLoad);
            reloadCycle(&reloads);
        }
        QCoreApplication::processEvents(); // the state-change notifications the SDK queued
    }
    stateful.checkHandovers();

    Result result;
    result.name = QStringLiteral("reload_ms");
    result.unit = QStringLiteral("ms");
    result.value = Statistics::of(reloads);
    result.baselineName = QStringLiteral("unload_plus_load_ms");
    result.baseline = Statistics::of(unloadThenLoad);
    result.note = QStringLiteral("Plugin::reload() of plugins/stateful (on_unload() returns a small dict, on_load() reads "
                                 "pluginhost.info.previous_state) until its future finished, vs Plugin::unload() then "
                                 "Plugin::load() of the same plugin (load_cold_ms + unload_ms for it, with the same handover), "
                                 "alternating; the handovers are checked at the end.");
    return result;
}

Result measureReloadLeak(const Settings &settings)
{
    PluginFarm farm(settings.fixtures);
    farm.add(QStringLiteral("stateful"), statefulId);
    farm.add(QStringLiteral("minimal"), minimalId);
    // Fresh processes, one after the other: each grows by a gigabyte and more under pymalloc.
    const std::vector<double> sdk = probeReloadLeak(settings, QStringLiteral("sdk"), farm.root());
    const std::vector<double> raw = probeReloadLeak(settings, QStringLiteral("raw"), farm.root());

    Result result;
    result.name = QStringLiteral("reload_leak_kib_per_cycle");
    result.unit = QStringLiteral("KiB");
    result.value = Statistics::of(sdk);
    result.baselineName = QStringLiteral("raw_interpreter_cycle_kib");
    result.baseline = Statistics::of(raw);
    result.target = Target::valueAtMost(16);
    result.note = QStringLiteral("VmRSS growth per Plugin::reload() of plugins/stateful over %1 reloads after %2 to warm up, in a "
                                 "fresh process, vs creating and ending a raw interpreter (same config, minimal imported) as "
                                 "often in another; n counts segments of %3 cycles. Allocator: %4. The issue's target (<= 16 KiB "
                                 "per cycle) is below what CPython itself keeps per ended interpreter (the baseline).")
                      .arg(leakCycles)
                      .arg(leakWarmUpCycles)
                      .arg(leakSegmentCycles)
                      .arg(settings.systemAllocator ? QStringLiteral("malloc (--system-allocator)") : QStringLiteral("pymalloc"));
    return result;
}

int runReloadLeakProbe(const QString &mode, const QString &pluginsRoot)
{
    if (!Runtime::instance()) {
        std::fprintf(stderr, "the CPython runtime did not start\n");
        return 1;
    }
    try {
        std::function<void()> cycle;
        std::unique_ptr<StatefulPlugin> stateful;
        if (mode == QLatin1String("sdk")) {
            stateful = std::make_unique<StatefulPlugin>(pluginsRoot);
            cycle = [&] {
                stateful->reload();
                QCoreApplication::processEvents(); // the state-change notifications: a host's event loop would deliver them
            };
        } else if (mode == QLatin1String("raw")) {
            const QString directory = QDir(pluginsRoot).filePath(minimalId);
            cycle = [directory] {
                RawInterpreter raw(directory, QStringLiteral("minimal"));
                raw.end();
            };
        } else {
            std::fprintf(stderr, "--leak-probe takes sdk or raw\n");
            return 1;
        }
        for (int index = 0; index < leakWarmUpCycles; ++index) {
            cycle();
        }
        QStringList perSegment;
        qint64 before = residentKib();
        for (int index = 1; index <= leakCycles; ++index) {
            cycle();
            if (index % leakSegmentCycles == 0) {
                const qint64 after = residentKib();
                perSegment.append(QString::number(double(after - before) / leakSegmentCycles, 'f', 2));
                before = after;
            }
        }
        if (stateful) {
            stateful->checkHandovers();
        }
        std::printf("%s\n", qPrintable(perSegment.join(QLatin1Char(' '))));
        return 0;
    } catch (const std::exception &failure) {
        std::fprintf(stderr, "%s leak probe: %s\n", qPrintable(mode), failure.what());
        return 1;
    }
}

} // namespace Bench
