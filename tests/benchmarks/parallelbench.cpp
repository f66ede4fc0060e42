// CPU-bound work in two plugins at once: time one after the other ÷ time both at once.
// The baseline is what plain Python offers inside one interpreter: two threads.
#include "measurements.h"
#include "pluginfarm.h"
#include "rawinterpreter.h"

#include <PluginHost/PluginManager>

#include <stdexcept>

using namespace PluginHost;

namespace Bench
{

namespace
{
const QString work = QStringLiteral("work");
constexpr double millisecondsPerJob = 150;

struct CpuPlugins {
    CpuPlugins(const Settings &settings, PluginFarm::Gil gil)
        : farm(settings.fixtures)
    {
        for (const QString &id : {QStringLiteral("org.bench.cpu.0"), QStringLiteral("org.bench.cpu.1")}) {
            directories.append(farm.add(QStringLiteral("cpu"), id, gil));
        }
        manager.setSearchPaths({farm.root()});
        manager.discover();
        first = manager.plugin(QStringLiteral("org.bench.cpu.0"));
        second = manager.plugin(QStringLiteral("org.bench.cpu.1"));
        if (!first || !second) {
            throw std::runtime_error("the fixture plugins org.bench.cpu.* were not discovered");
        }
        expectSuccess(first->load(), QStringLiteral("loading org.bench.cpu.0"));
        expectSuccess(second->load(), QStringLiteral("loading org.bench.cpu.1"));
    }

    // Iterations of work() that take about millisecondsPerJob here and now.
    qlonglong calibrate() const
    {
        qlonglong iterations = 100'000;
        for (;;) {
            const auto start = Clock::now();
            expectSuccess(first->callBlocking(work, {iterations}), QStringLiteral("work()"));
            const double elapsed = millisecondsBetween(start, Clock::now());
            if (elapsed > millisecondsPerJob / 4) {
                return qlonglong(double(iterations) * millisecondsPerJob / elapsed);
            }
            iterations *= 4;
        }
    }

    // Sequential ÷ parallel for one pair of jobs.
    double speedup(qlonglong iterations) const
    {
        const QVariantList arguments{iterations};
        auto start = Clock::now();
        expectSuccess(first->callBlocking(work, arguments), QStringLiteral("work()"));
        expectSuccess(second->callBlocking(work, arguments), QStringLiteral("work()"));
        const double sequential = millisecondsBetween(start, Clock::now());

        start = Clock::now();
        const QFuture<QVariant> running = first->call(work, arguments);
        const CallResult secondResult = second->callBlocking(work, arguments);
        const CallResult firstResult = CallResult::fromFuture(running);
        const double parallel = millisecondsBetween(start, Clock::now());
        expectSuccess(firstResult, QStringLiteral("work()"));
        expectSuccess(secondResult, QStringLiteral("work()"));
        return sequential / parallel;
    }

    PluginFarm farm;
    QStringList directories;
    PluginManager manager;
    Plugin *first = nullptr;
    Plugin *second = nullptr;
};

double threadSpeedup(RawInterpreter &raw, qlonglong iterations)
{
    auto start = Clock::now();
    raw.call("work_one_after_another", {iterations, 2});
    const double sequential = millisecondsBetween(start, Clock::now());
    start = Clock::now();
    raw.call("work_in_threads", {iterations, 2});
    const double parallel = millisecondsBetween(start, Clock::now());
    return sequential / parallel;
}
} // namespace

Result measureParallelSpeedup(const Settings &settings)
{
    CpuPlugins plugins(settings, PluginFarm::Gil::Own);
    RawInterpreter raw(plugins.directories.first(), QStringLiteral("cpu"));
    raw.waitUntilReady();

    std::vector<double> sdk, threads;
    runOnWorkerThread([&] {
        const qlonglong iterations = plugins.calibrate();
        const int repeat = settings.repeat(7);
        for (int index = 0; index < repeat; ++index) {
            sdk.push_back(plugins.speedup(iterations));
            threads.push_back(threadSpeedup(raw, iterations));
        }
    });

    Result result;
    result.name = QStringLiteral("parallel_speedup");
    result.unit = QStringLiteral("x");
    result.better = Better::Higher;
    result.value = Statistics::of(sdk);
    result.baselineName = QStringLiteral("threads_one_interpreter");
    result.baseline = Statistics::of(threads);
    result.target = Target::valueAtLeast(1.85);
    result.note = QStringLiteral("two plugins each running a ~%1 ms pure-Python loop: one after the other ÷ both at once; baseline: the "
                                 "same two loops as two threading.Thread in one raw interpreter (expected ~1.0).")
                      .arg(millisecondsPerJob);
    return result;
}

Result measureParallelSpeedupSharedGil(const Settings &settings)
{
    CpuPlugins plugins(settings, PluginFarm::Gil::Shared);
    std::vector<double> sdk;
    runOnWorkerThread([&] {
        const qlonglong iterations = plugins.calibrate();
        const int repeat = settings.repeat(7);
        for (int index = 0; index < repeat; ++index) {
            sdk.push_back(plugins.speedup(iterations));
        }
    });

    Result result;
    result.name = QStringLiteral("parallel_speedup_shared_gil");
    result.unit = QStringLiteral("x");
    result.better = Better::Higher;
    result.value = Statistics::of(sdk);
    result.note = QStringLiteral("as parallel_speedup, with both plugins declaring \"X-PluginHost-Isolation\": \"shared\" "
                                 "(the issue's second baseline; expected ~1.0).");
    return result;
}

Result measurePythonWork(const Settings &settings)
{
    // Fixed, not calibrated: the figure is compared between runs (with and without --system-allocator).
    constexpr qlonglong iterations = 200'000;
    CpuPlugins plugins(settings, PluginFarm::Gil::Own);
    RawInterpreter raw(plugins.directories.first(), QStringLiteral("cpu"));
    raw.waitUntilReady();

    std::vector<double> sdk, rawSamples; // milliseconds
    runOnWorkerThread([&] {
        const auto inPlugin = [&](std::vector<double> *into) {
            const auto start = Clock::now();
            expectSuccess(plugins.first->callBlocking(QStringLiteral("mixed"), {iterations}), QStringLiteral("mixed()"));
            if (into) {
                into->push_back(millisecondsBetween(start, Clock::now()));
            }
        };
        const auto inRaw = [&](std::vector<double> *into) {
            const auto start = Clock::now();
            raw.call("mixed", {iterations});
            if (into) {
                into->push_back(millisecondsBetween(start, Clock::now()));
            }
        };
        inPlugin(nullptr);
        inRaw(nullptr);
        const int repeat = settings.repeat(15);
        for (int index = 0; index < repeat; ++index) {
            if (index % 2 == 0) {
                inPlugin(&sdk);
                inRaw(&rawSamples);
            } else {
                inRaw(&rawSamples);
                inPlugin(&sdk);
            }
        }
    });

    Result result;
    result.name = QStringLiteral("python_work_ms");
    result.unit = QStringLiteral("ms");
    result.value = Statistics::of(sdk);
    result.baselineName = QStringLiteral("raw_python_work_ms");
    result.baseline = Statistics::of(rawSamples);
    result.note = QStringLiteral("cpu.mixed(%1) (records of a dict, a str, a list and ints, kept in batches of 1000: allocation-heavy pure Python) through "
                                 "Plugin::callBlocking(), vs the same call in a raw interpreter; alternating. Compare the figure "
                                 "between runs with and without --system-allocator (allocator here: %2).")
                      .arg(iterations)
                      .arg(settings.systemAllocator ? QStringLiteral("malloc") : QStringLiteral("pymalloc"));
    return result;
}

} // namespace Bench
