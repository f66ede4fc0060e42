// pluginhost-bench: the SDK's real paths beside the raw alternatives, in one run (issue 6).
//
//   pluginhost-bench [--only NAME[,NAME]] [--repeat N] [--json FILE] [--system-allocator]
#include "measurements.h"
#include "placement.h"
#include "pluginfarm.h"
#include "pluginhost_version.h"

#include <PluginHost/PluginManager>
#include <PluginHost/Runtime>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>

#include <algorithm>
#include <cstdio>

using namespace Bench;

namespace
{
// The suite, in the order it runs and prints.
const std::vector<Measurement> &allMeasurements()
{
    static const std::vector<Measurement> measurements{
        {QStringLiteral("load_cold_ms"), measureLoadCold},
        {QStringLiteral("unload_ms"), measureUnload},
        {QStringLiteral("rss_per_plugin_kib"), measureResidentPerPlugin},
        {QStringLiteral("child_process_rss_kib"), measureChildProcessResident},
        {QStringLiteral("reload_ms"), measureReload},
        {QStringLiteral("reload_leak_kib_per_cycle"), measureReloadLeak},
        {QStringLiteral("call_rtt_us"), measureCallRoundTrip},
        {QStringLiteral("call_rtt_other_cpu_us"), measureCallRoundTripOtherCpu},
        {QStringLiteral("call_rtt_gui_us"), measureCallRoundTripGui},
        {QStringLiteral("pipe_rtt_us"), measurePipeRoundTrip},
        {QStringLiteral("calls_per_s"), measureCallThroughput},
        {QStringLiteral("buffer_pass_us"), measureBufferPass},
        {QStringLiteral("busy_delivery_us"), measureBusyDelivery},
        {QStringLiteral("event_fanout_us"), measureEventFanout},
        {QStringLiteral("event_fanout_emit_us"), measureEventFanoutFromPlugin},
        {QStringLiteral("parallel_speedup"), measureParallelSpeedup},
        {QStringLiteral("parallel_speedup_shared_gil"), measureParallelSpeedupSharedGil},
        {QStringLiteral("python_work_ms"), measurePythonWork},
    };
    return measurements;
}

// The first three fields of /proc/loadavg: how busy the machine was (others share it).
QString loadAverage()
{
    QFile file(QStringLiteral("/proc/loadavg"));
    if (!file.open(QIODevice::ReadOnly)) {
        return QStringLiteral("unknown");
    }
    return QString::fromLatin1(file.readAll()).section(QLatin1Char(' '), 0, 2);
}

// The C allocator: glibc's, or one preloaded (scripts/run-benchmarks --malloc jemalloc). Pipelined
// calls free on one thread what another allocated, which glibc serialises on its arena lock.
QString cAllocator()
{
    const QString preloaded = qEnvironmentVariable("LD_PRELOAD");
    for (const char *name : {"jemalloc", "mimalloc", "tcmalloc"}) {
        if (preloaded.contains(QLatin1String(name))) {
            return QLatin1String(name);
        }
    }
    return QStringLiteral("glibc");
}

// "own" or "shared": what a loaded minimal plugin really got (3.12 cannot tell; then what was asked).
QString pluginGil(const Settings &settings)
{
    PluginFarm farm(settings.fixtures);
    farm.add(QStringLiteral("minimal"), QStringLiteral("org.bench.minimal"));
    PluginHost::PluginManager manager;
    manager.setSearchPaths({farm.root()});
    manager.discover();
    PluginHost::Plugin *plugin = manager.plugin(QStringLiteral("org.bench.minimal"));
    expectSuccess(plugin->load(), QStringLiteral("loading org.bench.minimal"));
    return plugin->gil() == PluginHost::Plugin::Gil::Own ? QStringLiteral("own") : QStringLiteral("shared");
}
} // namespace

int main(int argc, char **argv)
{
    QCoreApplication application(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("pluginhost-bench"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Measures PluginHost beside raw CPython, threads and process-per-plugin, in one run."));
    parser.addHelpOption();
    const QCommandLineOption jsonOption(QStringLiteral("json"), QStringLiteral("Also write the results as JSON to <file>."), QStringLiteral("file"));
    const QCommandLineOption onlyOption(QStringLiteral("only"), QStringLiteral("Run only these measurements (comma-separated)."), QStringLiteral("names"));
    const QCommandLineOption repeatOption(QStringLiteral("repeat"),
                                          QStringLiteral("Samples per measurement instead of each one's default (round trips: at least 1000)."),
                                          QStringLiteral("n"));
    const QCommandLineOption listOption(QStringLiteral("list"), QStringLiteral("List the measurements and exit."));
    const QCommandLineOption systemAllocatorOption(QStringLiteral("system-allocator"),
                                                   QStringLiteral("Run CPython on malloc() instead of pymalloc (Runtime::Options::systemAllocator)."));
    QCommandLineOption probeOption(QStringLiteral("rss-probe"), QStringLiteral("Internal: memory probe (sdk or raw)."), QStringLiteral("mode"));
    QCommandLineOption leakProbeOption(QStringLiteral("leak-probe"), QStringLiteral("Internal: reload leak probe (sdk or raw)."), QStringLiteral("mode"));
    QCommandLineOption probePluginsOption(QStringLiteral("rss-plugins"), QStringLiteral("Internal: plugins for the probe."), QStringLiteral("folder"));
    probeOption.setFlags(QCommandLineOption::HiddenFromHelp);
    leakProbeOption.setFlags(QCommandLineOption::HiddenFromHelp);
    probePluginsOption.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOptions({jsonOption, onlyOption, repeatOption, listOption, systemAllocatorOption, probeOption, leakProbeOption, probePluginsOption});
    parser.process(application);

    const bool systemAllocator = parser.isSet(systemAllocatorOption);
    if (systemAllocator) {
        PluginHost::Runtime::Options options;
        options.systemAllocator = true;
        PluginHost::Runtime::configure(options);
    }
    if (parser.isSet(probeOption)) {
        return runResidentProbe(parser.value(probeOption), parser.value(probePluginsOption));
    }
    if (parser.isSet(leakProbeOption)) {
        return runReloadLeakProbe(parser.value(leakProbeOption), parser.value(probePluginsOption));
    }
    if (parser.isSet(listOption)) {
        for (const Measurement &measurement : allMeasurements()) {
            std::printf("%s\n", qPrintable(measurement.name));
        }
        return 0;
    }

    Settings settings;
    settings.fixtures = QStringLiteral(PLUGINHOST_BENCH_FIXTURES);
    settings.pythonExecutable = QStringLiteral(PLUGINHOST_BENCH_PYTHON);
    settings.selfExecutable = QCoreApplication::applicationFilePath();
    settings.systemAllocator = systemAllocator;
    if (parser.isSet(repeatOption)) {
        bool ok = false;
        settings.repeatOverride = parser.value(repeatOption).toInt(&ok);
        if (!ok || settings.repeatOverride < 1) {
            std::fprintf(stderr, "--repeat takes a positive whole number, not \"%s\"\n", qPrintable(parser.value(repeatOption)));
            return 2;
        }
    }

    std::vector<Measurement> selected;
    if (parser.isSet(onlyOption)) {
        const QStringList names = parser.value(onlyOption).split(QLatin1Char(','), Qt::SkipEmptyParts);
        for (const QString &name : names) {
            const auto &all = allMeasurements();
            const auto found = std::find_if(all.begin(), all.end(), [&name](const Measurement &measurement) {
                return measurement.name == name.trimmed();
            });
            if (found == all.end()) {
                std::fprintf(stderr, "no measurement named \"%s\"; --list shows them\n", qPrintable(name));
                return 2;
            }
            selected.push_back(*found);
        }
    } else {
        selected = allMeasurements();
    }

    if (!PluginHost::Runtime::instance()) {
        std::fprintf(stderr, "the CPython runtime did not start (see the pluginhost.runtime log)\n");
        return 1;
    }

    const QString loadBefore = loadAverage();
    std::vector<Result> results;
    bool failed = false;
    QString gil;
    try {
        gil = pluginGil(settings);
    } catch (const std::exception &failure) {
        std::fprintf(stderr, "cannot load the minimal fixture plugin: %s\n", failure.what());
        return 1;
    }
    for (const Measurement &measurement : selected) {
        std::fprintf(stderr, "measuring %s...\n", qPrintable(measurement.name));
        const auto start = Clock::now();
        try {
            results.push_back(measurement.measure(settings));
        } catch (const std::exception &failure) {
            std::fprintf(stderr, "%s FAILED: %s\n", qPrintable(measurement.name), failure.what());
            failed = true;
        }
        std::fprintf(stderr, "  (%.1f s)\n", std::chrono::duration<double>(Clock::now() - start).count());
        QCoreApplication::processEvents();
    }

    std::printf("PluginHost %s, CPython %s, GIL %s, allocator %s, C allocator %s, %d CPUs, load average %s before and %s after\n"
                "Values are medians, [IQR] the interquartile range; ratio = value / baseline value\n\n%s",
                PLUGINHOST_VERSION_STRING,
                qPrintable(PluginHost::Runtime::pythonVersion()),
                qPrintable(gil),
                systemAllocator ? "malloc" : "pymalloc",
                qPrintable(cAllocator()),
                usableCpuCount(),
                qPrintable(loadBefore),
                qPrintable(loadAverage()),
                formatTable(results).toUtf8().constData());

    if (parser.isSet(jsonOption)) {
        QFile json(parser.value(jsonOption));
        if (!json.open(QIODevice::WriteOnly | QIODevice::Truncate) || json.write(toJson(PluginHost::Runtime::pythonVersion(), gil, cAllocator(), results)) < 0) {
            std::fprintf(stderr, "cannot write %s: %s\n", qPrintable(json.fileName()), qPrintable(json.errorString()));
            return 1;
        }
    }
    return failed ? 1 : 0;
}
