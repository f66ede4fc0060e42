// Calls into an idle plugin: one at a time (round trip) and pipelined (throughput), beside a
// raw condition-variable hand-off to an interpreter thread and a pipe to a child process.
#include "childprocess.h"
#include "measurements.h"
#include "placement.h"
#include "pluginfarm.h"
#include "rawinterpreter.h"

#include <PluginHost/PluginManager>

#include <QEventLoop>
#include <QScopeGuard>

#include <stdexcept>

using namespace PluginHost;

namespace Bench
{

namespace
{
const QString exportedId = QStringLiteral("org.bench.exported");
const QString noop = QStringLiteral("noop");
constexpr int callsPerBlock = 1000;

// plugins/exported (noop() and echo() declared with @pluginhost.export, as plugins are meant to
// declare what they offer), loaded for as long as this lives; and the folder of plugins/minimal
// (the same functions in a module that imports nothing) for the raw baseline.
class LoadedPlugin
{
public:
    /// `mailboxCapacity`: how many calls may be in flight (Plugin::setMailboxCapacity()), when
    /// more than the default.
    explicit LoadedPlugin(const Settings &settings, int mailboxCapacity = 0)
        : m_farm(settings.fixtures)
        , m_rawDirectory(m_farm.add(QStringLiteral("minimal"), QStringLiteral("org.bench.minimal")))
    {
        m_farm.add(QStringLiteral("exported"), exportedId);
        m_manager.setSearchPaths({m_farm.root()});
        m_manager.discover();
        m_plugin = m_manager.plugin(exportedId);
        if (!m_plugin) {
            throw std::runtime_error("the fixture plugin org.bench.exported was not discovered");
        }
        if (mailboxCapacity > 0) {
            m_plugin->setMailboxCapacity(mailboxCapacity);
        }
        expectSuccess(m_plugin->load(), QStringLiteral("loading org.bench.exported"));
    }

    Plugin *plugin() const
    {
        return m_plugin;
    }
    /// plugins/minimal, for RawInterpreter(rawDirectory(), "minimal").
    QString rawDirectory() const
    {
        return m_rawDirectory;
    }
    /// The plugin's interpreter thread (the SDK names it "py:<id>").
    pid_t threadId() const
    {
        return threadNamed(QStringLiteral("py:") + exportedId);
    }

private:
    PluginFarm m_farm;
    const QString m_rawDirectory;
    PluginManager m_manager;
    Plugin *m_plugin = nullptr;
};

struct RoundTrips {
    std::vector<double> sdk, raw; // microseconds
};

// callsPerBlock Plugin::callBlocking("noop") from this thread, each one's round trip in
// microseconds appended to `into` unless it is null (a warm-up block).
void timeBlockingCalls(Plugin *plugin, std::vector<double> *into)
{
    for (int call = 0; call < callsPerBlock; ++call) {
        const auto start = Clock::now();
        const CallResult result = plugin->callBlocking(noop);
        const auto end = Clock::now();
        expectSuccess(result, QStringLiteral("noop()"));
        if (into) {
            into->push_back(microsecondsBetween(start, end));
        }
    }
}

// Plugin::callBlocking("noop") against the raw hand-off, the caller pinned to `callerCpu` and
// both interpreter threads to `interpreterCpu`, in alternating blocks.
RoundTrips sampleRoundTrips(const Settings &settings, int callerCpu, int interpreterCpu)
{
    LoadedPlugin loaded(settings);
    Plugin *plugin = loaded.plugin();
    RawInterpreter raw(loaded.rawDirectory(), QStringLiteral("minimal"));
    pinThread(loaded.threadId(), interpreterCpu);
    pinThread(raw.threadId(), interpreterCpu);

    RoundTrips samples;
    const int blocks = std::max(1, settings.repeat(20'000) / callsPerBlock);
    runOnWorkerThread([&] {
        pinThread(0, callerCpu);
        const auto sdkBlock = [&](std::vector<double> *into) {
            timeBlockingCalls(plugin, into);
        };
        const auto rawBlock = [&](std::vector<double> *into) {
            for (int call = 0; call < callsPerBlock; ++call) {
                const auto start = Clock::now();
                raw.call("noop");
                const auto end = Clock::now();
                if (into) {
                    into->push_back(microsecondsBetween(start, end));
                }
            }
        };
        sdkBlock(nullptr);
        rawBlock(nullptr);
        for (int block = 0; block < blocks; ++block) {
            if (block % 2 == 0) {
                sdkBlock(&samples.sdk);
                rawBlock(&samples.raw);
            } else {
                rawBlock(&samples.raw);
                sdkBlock(&samples.sdk);
            }
        }
    });
    return samples;
}

Result roundTripResult(const QString &name, const QString &baselineName, const RoundTrips &samples, const QString &placement)
{
    Result result;
    result.name = name;
    result.unit = QStringLiteral("us");
    result.value = Statistics::of(samples.sdk);
    result.baselineName = baselineName;
    result.baseline = Statistics::of(samples.raw);
    result.target = Target::ratioAtMost(1.25);
    result.note = QStringLiteral("Plugin::callBlocking(\"noop\") of an export (plugins/exported) from a worker thread vs a raw "
                                 "condition-variable hand-off to an interpreter thread idle with its GIL released, calling the same "
                                 "noop() (looked up on its module); per call, blocks of %1 alternating; %2.")
                      .arg(callsPerBlock)
                      .arg(placement);
    return result;
}
} // namespace

Result measureCallRoundTrip(const Settings &settings)
{
    const int cpu = usableCpu(0);
    return roundTripResult(QStringLiteral("call_rtt_us"),
                           QStringLiteral("raw_cv_handoff_us"),
                           sampleRoundTrips(settings, cpu, cpu),
                           QStringLiteral("caller and interpreter threads pinned to the same CPU"));
}

Result measureCallRoundTripOtherCpu(const Settings &settings)
{
    if (usableCpuCount() < 2) {
        throw std::runtime_error("needs two CPUs");
    }
    return roundTripResult(QStringLiteral("call_rtt_other_cpu_us"),
                           QStringLiteral("raw_cv_handoff_other_cpu_us"),
                           sampleRoundTrips(settings, usableCpu(0), usableCpu(1)),
                           QStringLiteral("caller on one CPU, interpreter threads pinned to the other"));
}

Result measureCallRoundTripGui(const Settings &settings)
{
    LoadedPlugin loaded(settings);
    Plugin *plugin = loaded.plugin();
    const int cpu = usableCpu(0);
    pinThread(loaded.threadId(), cpu);
    pinThread(0, cpu); // this thread is the application's main thread: let it go afterwards
    const auto unpin = qScopeGuard([] {
        unpinThread(0);
    });

    QObject context;
    QEventLoop loop;
    std::vector<double> gui, worker; // microseconds
    // Each call is made from the continuation of the one before, as an application reacting
    // to a result would make it; the loop runs meanwhile.
    const auto guiBlock = [&](std::vector<double> *into) {
        int remaining = callsPerBlock;
        QString failure;
        std::function<void()> next = [&] {
            const auto start = Clock::now();
            plugin->call(noop).then(&context, [&, start](const QFuture<QVariant> &future) {
                const auto end = Clock::now();
                if (const CallResult result = CallResult::fromFuture(future); !result) {
                    failure = result.error().errorText();
                    loop.exit(1);
                    return;
                }
                if (into) {
                    into->push_back(microsecondsBetween(start, end));
                }
                if (--remaining > 0) {
                    next();
                } else {
                    loop.quit();
                }
            });
        };
        next();
        if (loop.exec() != 0) {
            throw std::runtime_error(QStringLiteral("noop() failed: %1").arg(failure).toStdString());
        }
    };
    const auto workerBlock = [&](std::vector<double> *into) {
        runOnWorkerThread([&] {
            pinThread(0, cpu);
            timeBlockingCalls(plugin, into);
        });
    };

    guiBlock(nullptr);
    workerBlock(nullptr);
    const int blocks = std::max(2, settings.repeat(20'000) / callsPerBlock);
    for (int block = 0; block < blocks; ++block) {
        if (block % 2 == 0) {
            guiBlock(&gui);
            workerBlock(&worker);
        } else {
            workerBlock(&worker);
            guiBlock(&gui);
        }
    }

    Result result;
    result.name = QStringLiteral("call_rtt_gui_us");
    result.unit = QStringLiteral("us");
    result.value = Statistics::of(gui);
    result.baselineName = QStringLiteral("call_rtt_us");
    result.baseline = Statistics::of(worker);
    result.note = QStringLiteral("Plugin::call(\"noop\").then(context, …) from the main thread with its event loop running "
                                 "(QCoreApplication), from the call until the continuation ran there, each call made from the "
                                 "previous continuation; vs Plugin::callBlocking(\"noop\") from a worker thread (call_rtt_us); "
                                 "all threads pinned to the same CPU; blocks of %1 alternating.")
                      .arg(callsPerBlock);
    return result;
}

Result measurePipeRoundTrip(const Settings &settings)
{
    const QString echoLines = QStringLiteral(
        "import sys\n"
        "read, write, flush = sys.stdin.buffer.readline, sys.stdout.buffer.write, sys.stdout.buffer.flush\n"
        "while line := read():\n"
        "    write(line)\n"
        "    flush()\n");
    ChildProcess child(settings.pythonExecutable, {QStringLiteral("-I"), QStringLiteral("-S"), QStringLiteral("-c"), echoLines});
    const QByteArray request("noop\n");
    const auto roundTrip = [&] {
        child.write(request);
        if (child.readLine() != request) {
            throw std::runtime_error("the child process answered something else");
        }
    };

    std::vector<double> samples;
    const int calls = std::max(callsPerBlock, settings.repeat(20'000));
    const int cpu = usableCpu(0);
    pinThread(child.pid(), cpu); // a single-threaded child: its pid is its only tid
    runOnWorkerThread([&] {
        pinThread(0, cpu);
        for (int call = 0; call < callsPerBlock; ++call) {
            roundTrip();
        }
        for (int call = 0; call < calls; ++call) {
            const auto start = Clock::now();
            roundTrip();
            samples.push_back(microsecondsBetween(start, Clock::now()));
        }
    });

    Result result;
    result.name = QStringLiteral("pipe_rtt_us");
    result.unit = QStringLiteral("us");
    result.value = Statistics::of(samples);
    result.note = QStringLiteral("a line to a child `python -I -S` echoing lines over pipes and back, per round trip (process per plugin); "
                                 "caller and child pinned to the same CPU, as for call_rtt_us.");
    return result;
}

Result measureCallThroughput(const Settings &settings)
{
    constexpr int callsPerBatch = 100'000;
    LoadedPlugin loaded(settings, callsPerBatch); // all of them in flight at once
    Plugin *plugin = loaded.plugin();

    std::vector<double> rates;
    const int repeat = settings.repeat(9);
    // Not pinned: the scheduler's placement beats a producer and a consumer pinned to two CPUs
    // here (every mailbox lock and cross-thread free then bounces between the CPUs).
    runOnWorkerThread([&] {
        const auto batch = [&](int calls) {
            // A caller that fires and forgets keeps no futures; we keep every 1000th (and the
            // last) to check that the calls succeeded. Calls run in order: the last one ends the batch.
            QList<QFuture<QVariant>> sampled;
            sampled.reserve(calls / 1000 + 1);
            const auto start = Clock::now();
            for (int call = 0; call < calls; ++call) {
                QFuture<QVariant> future = plugin->call(noop);
                if (call % 1000 == 0 || call == calls - 1) {
                    sampled.append(std::move(future));
                }
            }
            sampled.last().waitForFinished();
            const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
            for (const QFuture<QVariant> &future : std::as_const(sampled)) {
                expectSuccess(CallResult::fromFuture(future), QStringLiteral("noop()"));
            }
            return double(calls) / seconds;
        };
        batch(callsPerBatch / 10);
        for (int index = 0; index < repeat; ++index) {
            rates.push_back(batch(callsPerBatch));
        }
    });

    Result result;
    result.name = QStringLiteral("calls_per_s");
    result.unit = QStringLiteral("calls/s");
    result.better = Better::Higher;
    result.value = Statistics::of(rates);
    result.target = Target::valueAtLeast(500'000);
    result.note = QStringLiteral("%1 Plugin::call(\"noop\") (an export of plugins/exported) posted at once from a worker thread (futures dropped, "
                                 "as a fire-and-forget caller would), until the last one finished; the plugin's mailbox capacity raised to %1.")
                      .arg(callsPerBatch);
    return result;
}

} // namespace Bench
