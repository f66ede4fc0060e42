// Loading, unloading and the memory a loaded plugin costs: the SDK against raw interpreters
// (rawinterpreter.h) and against a child Python process.
#include "childprocess.h"
#include "measurements.h"
#include "pluginfarm.h"
#include "rawinterpreter.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QCoreApplication>
#include <QDir>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace PluginHost;
using namespace std::chrono_literals;

namespace Bench
{

namespace
{
const QString minimalModule = QStringLiteral("minimal");
constexpr int pluginsForResidentSize = 32;

struct LifecycleSamples {
    std::vector<double> sdkLoad, rawLoad, sdkUnload, rawUnload; // milliseconds
    std::vector<double> rawNewInterpreter, rawImport; // where rawLoad went, measured on its thread
};

// One load and one unload of the minimal plugin through the SDK and as a raw interpreter,
// `repeat` times, alternating which goes first. Times run from the request until the caller
// has been woken with the result, on both paths.
LifecycleSamples sampleLifecycle(const Settings &settings, int repeat)
{
    PluginFarm farm(settings.fixtures);
    const QString directory = farm.add(QStringLiteral("minimal"), QStringLiteral("org.bench.minimal"));
    PluginManager manager;
    manager.setSearchPaths({farm.root()});
    manager.discover();
    Plugin *plugin = manager.plugin(QStringLiteral("org.bench.minimal"));
    if (!plugin) {
        throw std::runtime_error("the fixture plugin org.bench.minimal was not discovered");
    }

    LifecycleSamples samples;
    const auto sdkCycle = [&](bool record) {
        const auto requested = Clock::now();
        const QFuture<CallResult> loading = plugin->load();
        expectSuccess(loading, QStringLiteral("loading org.bench.minimal"));
        const auto loaded = Clock::now();
        const QFuture<CallResult> unloading = plugin->unload();
        expectSuccess(unloading, QStringLiteral("unloading org.bench.minimal"));
        const auto unloaded = Clock::now();
        if (record) {
            samples.sdkLoad.push_back(millisecondsBetween(requested, loaded));
            samples.sdkUnload.push_back(millisecondsBetween(loaded, unloaded));
        }
    };
    const auto rawCycle = [&](bool record) {
        const auto requested = Clock::now();
        RawInterpreter raw(directory, minimalModule);
        raw.waitUntilReady();
        const auto loaded = Clock::now();
        raw.end();
        const auto unloaded = Clock::now();
        if (record) {
            const RawInterpreter::CreationPhases phases = raw.creationPhases();
            samples.rawNewInterpreter.push_back(phases.newInterpreterMilliseconds);
            samples.rawImport.push_back(phases.importMilliseconds);
            samples.rawLoad.push_back(millisecondsBetween(requested, loaded));
            samples.rawUnload.push_back(millisecondsBetween(loaded, unloaded));
        }
    };

    for (int warmUp = 0; warmUp < 3; ++warmUp) { // also writes the .pyc both paths then read
        sdkCycle(false);
        rawCycle(false);
    }
    for (int index = 0; index < repeat; ++index) {
        if (index % 2 == 0) {
            sdkCycle(true);
            rawCycle(true);
        } else {
            rawCycle(true);
            sdkCycle(true);
        }
        QCoreApplication::processEvents(); // the state-change notifications the SDK queued
    }
    return samples;
}

// Runs this program again with --rss-probe; returns the KiB per plugin it printed.
double probeResidentPerPlugin(const Settings &settings, const QString &mode, const QString &pluginsRoot)
{
    bool ok = false;
    const double value = runProbe(settings, QStringLiteral("--rss-probe"), mode, pluginsRoot, std::chrono::minutes(2), QStringLiteral("memory probe")).toDouble(&ok);
    if (!ok) {
        throw std::runtime_error(QStringLiteral("the %1 memory probe printed no number").arg(mode).toStdString());
    }
    return value;
}
} // namespace

Result measureLoadCold(const Settings &settings)
{
    const LifecycleSamples samples = sampleLifecycle(settings, settings.repeat(100));
    Result result;
    result.name = QStringLiteral("load_cold_ms");
    result.unit = QStringLiteral("ms");
    result.value = Statistics::of(samples.sdkLoad);
    result.baselineName = QStringLiteral("raw_new_interpreter_ms");
    result.baseline = Statistics::of(samples.rawLoad);
    result.target = Target::ratioAtMost(1.1);
    result.note = QStringLiteral("Plugin::load() until its future finished, vs a std::thread running Py_NewInterpreterFromConfig "
                                 "(the SDK's config) + sys.path + import + on_load lookup, until the caller is woken. Of the raw "
                                 "path, Py_NewInterpreterFromConfig took %1 ms and sys.path + import %2 ms (medians).")
                      .arg(Statistics::of(samples.rawNewInterpreter).median, 0, 'f', 2)
                      .arg(Statistics::of(samples.rawImport).median, 0, 'f', 2);
    return result;
}

Result measureUnload(const Settings &settings)
{
    const LifecycleSamples samples = sampleLifecycle(settings, settings.repeat(100));
    Result result;
    result.name = QStringLiteral("unload_ms");
    result.unit = QStringLiteral("ms");
    result.value = Statistics::of(samples.sdkUnload);
    result.baselineName = QStringLiteral("raw_end_interpreter_ms");
    result.baseline = Statistics::of(samples.rawUnload);
    result.target = Target::ratioAtMost(1.2);
    result.note = QStringLiteral("Plugin::unload() until its future finished, vs on_unload lookup + Py_EndInterpreter on the raw thread, "
                                 "until the caller is woken.");
    return result;
}

Result measureResidentPerPlugin(const Settings &settings)
{
    PluginFarm farm(settings.fixtures);
    for (int index = 0; index < pluginsForResidentSize; ++index) {
        farm.add(QStringLiteral("minimal"), QStringLiteral("org.bench.minimal.%1").arg(index, 2, 10, QLatin1Char('0')));
    }
    // Each probe is a fresh process: memory that one path freed must not flatter the other.
    std::vector<double> sdk, raw;
    const int repeat = settings.repeat(5);
    for (int index = 0; index < repeat; ++index) {
        if (index % 2 == 0) {
            sdk.push_back(probeResidentPerPlugin(settings, QStringLiteral("sdk"), farm.root()));
            raw.push_back(probeResidentPerPlugin(settings, QStringLiteral("raw"), farm.root()));
        } else {
            raw.push_back(probeResidentPerPlugin(settings, QStringLiteral("raw"), farm.root()));
            sdk.push_back(probeResidentPerPlugin(settings, QStringLiteral("sdk"), farm.root()));
        }
    }
    Result result;
    result.name = QStringLiteral("rss_per_plugin_kib");
    result.unit = QStringLiteral("KiB");
    result.value = Statistics::of(sdk);
    result.baselineName = QStringLiteral("raw_interpreter_thread_kib");
    result.baseline = Statistics::of(raw);
    result.target = Target::ratioAtMost(1.1);
    result.note = QStringLiteral("VmRSS growth / %1 after loading %1 minimal plugins, each measured in a fresh process (this program "
                                 "with --rss-probe), vs %1 raw interpreters each idle on its own thread.")
                      .arg(pluginsForResidentSize);
    return result;
}

Result measureChildProcessResident(const Settings &settings)
{
    std::vector<double> resident;
    double privateKib = 0;
    const int repeat = settings.repeat(5);
    for (int index = 0; index < repeat; ++index) {
        // Says when it reached the read, so that we never measure a child still starting.
        ChildProcess child(settings.pythonExecutable,
                           {QStringLiteral("-I"), QStringLiteral("-S"), QStringLiteral("-c"), QStringLiteral("import sys; print('ready', flush=True); sys.stdin.read()")});
        child.readLine();
        std::this_thread::sleep_for(20ms);
        resident.push_back(double(residentKib(child.pid())));
        privateKib = double(residentKib(child.pid(), "RssAnon"));
    }
    Result result;
    result.name = QStringLiteral("child_process_rss_kib");
    result.unit = QStringLiteral("KiB");
    result.value = Statistics::of(resident);
    result.note = QStringLiteral("VmRSS of an idle `%1 -I -S` child blocked in sys.stdin.read() (of that, RssAnon %2 KiB).")
                      .arg(QDir(settings.pythonExecutable).dirName())
                      .arg(privateKib);
    return result;
}

int runResidentProbe(const QString &mode, const QString &pluginsRoot)
{
    if (!Runtime::instance()) {
        std::fprintf(stderr, "the CPython runtime did not start\n");
        return 1;
    }
    const QStringList folders = QDir(pluginsRoot).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    try {
        double perPlugin = 0;
        if (mode == QLatin1String("sdk")) {
            PluginManager manager;
            manager.setSearchPaths({pluginsRoot});
            manager.discover();
            const qint64 before = residentKib();
            QList<QFuture<CallResult>> loading;
            for (Plugin *plugin : manager.plugins()) {
                loading.append(plugin->load());
            }
            for (const QFuture<CallResult> &future : std::as_const(loading)) {
                expectSuccess(future, QStringLiteral("loading a plugin"));
            }
            std::this_thread::sleep_for(50ms);
            perPlugin = double(residentKib() - before) / double(loading.size());
        } else if (mode == QLatin1String("raw")) {
            const qint64 before = residentKib();
            std::vector<std::unique_ptr<RawInterpreter>> interpreters;
            for (const QString &folder : folders) {
                interpreters.push_back(std::make_unique<RawInterpreter>(QDir(pluginsRoot).filePath(folder), minimalModule));
            }
            for (const auto &interpreter : interpreters) {
                interpreter->waitUntilReady();
            }
            std::this_thread::sleep_for(50ms);
            perPlugin = double(residentKib() - before) / double(interpreters.size());
        } else {
            std::fprintf(stderr, "--rss-probe takes sdk or raw\n");
            return 1;
        }
        std::printf("%.1f\n", perPlugin);
        return 0;
    } catch (const std::exception &failure) {
        std::fprintf(stderr, "%s probe: %s\n", qPrintable(mode), failure.what());
        return 1;
    }
}

} // namespace Bench
