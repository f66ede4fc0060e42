// One event to 32 subscribed plugins, until every handler ran: from the application
// (PluginManager::broadcast) and from a plugin (pluginhost.emit). Each handler answers with
// an "ack" event, which the application counts as PluginManager::eventEmitted in its event loop.
#include "measurements.h"
#include "pluginfarm.h"
#include "rawinterpreter.h"

#include <PluginHost/PluginManager>

#include <QEventLoop>
#include <QTimer>

#include <memory>
#include <optional>
#include <stdexcept>

using namespace PluginHost;

namespace Bench
{

namespace
{
constexpr int listenerCount = 32;
const QString senderId = QStringLiteral("org.bench.sender");
const QString ping = QStringLiteral("ping");
const QString ack = QStringLiteral("ack");

QString listenerId(int index)
{
    return QStringLiteral("org.bench.listener.%1").arg(index, 2, 10, QLatin1Char('0'));
}

// Runs the calling thread's event loop until `acknowledged` reached `expected`.
class AckCounter : public QObject
{
public:
    void expect(int count)
    {
        m_expected = count;
        m_acknowledged = 0;
    }
    void acknowledge()
    {
        if (++m_acknowledged == m_expected) {
            m_loop.quit();
        }
    }
    void wait()
    {
        if (m_acknowledged < m_expected) {
            QTimer::singleShot(10'000, &m_loop, [this] {
                m_loop.exit(1);
            });
            if (m_loop.exec() != 0) {
                throw std::runtime_error(QStringLiteral("only %1 of %2 acknowledgements arrived").arg(m_acknowledged).arg(m_expected).toStdString());
            }
        }
    }

private:
    QEventLoop m_loop;
    int m_expected = 0;
    int m_acknowledged = 0;
};

struct FanoutSamples {
    std::vector<double> broadcast, pluginEmit, raw; // microseconds
};

FanoutSamples sampleFanout(const Settings &settings)
{
    PluginFarm farm(settings.fixtures);
    const QString minimalDirectory = farm.add(QStringLiteral("minimal"), QStringLiteral("org.bench.minimal"));
    farm.add(QStringLiteral("sender"), senderId);
    for (int index = 0; index < listenerCount; ++index) {
        farm.add(QStringLiteral("listener"), listenerId(index));
    }
    PluginManager manager;
    manager.setSearchPaths({farm.root()});
    manager.discover();
    QList<QFuture<CallResult>> loading;
    for (Plugin *plugin : manager.plugins()) {
        if (plugin->id() != QLatin1String("org.bench.minimal")) {
            loading.append(plugin->load());
        }
    }
    for (const QFuture<CallResult> &future : std::as_const(loading)) {
        expectSuccess(future, QStringLiteral("loading the event fixtures"));
    }
    Plugin *sender = manager.plugin(senderId);

    AckCounter counter;
    QObject::connect(&manager, &PluginManager::eventEmitted, &counter, [&counter](const QString &, const QString &event) {
        if (event == ack) {
            counter.acknowledge();
        }
    });

    // The baseline: what a host without the SDK would do for the same fan-out.
    std::vector<std::unique_ptr<RawInterpreter>> raw;
    for (int index = 0; index < listenerCount; ++index) {
        raw.push_back(std::make_unique<RawInterpreter>(minimalDirectory, QStringLiteral("minimal")));
    }
    for (const auto &interpreter : raw) {
        interpreter->waitUntilReady();
        interpreter->setReturnHook([&counter] {
            QMetaObject::invokeMethod(&counter, &AckCounter::acknowledge, Qt::QueuedConnection);
        });
    }

    FanoutSamples samples;
    const auto timed = [&counter](std::vector<double> *into, const std::function<void()> &send) {
        counter.expect(listenerCount);
        const auto start = Clock::now();
        send();
        counter.wait();
        if (into) {
            into->push_back(microsecondsBetween(start, Clock::now()));
        }
    };
    const auto broadcast = [&](std::vector<double> *into) {
        timed(into, [&manager] {
            manager.broadcast(ping);
        });
    };
    const auto pluginEmit = [&](std::vector<double> *into) {
        timed(into, [sender] {
            sender->call(QStringLiteral("send"));
        });
    };
    const auto rawFanout = [&](std::vector<double> *into) {
        timed(into, [&raw] {
            for (const auto &interpreter : raw) {
                interpreter->begin("noop");
            }
        });
        for (const auto &interpreter : raw) {
            interpreter->finish();
        }
    };

    for (int warmUp = 0; warmUp < 10; ++warmUp) {
        broadcast(nullptr);
        pluginEmit(nullptr);
        rawFanout(nullptr);
    }
    const int repeat = settings.repeat(300);
    for (int index = 0; index < repeat; ++index) {
        // Rotate the order: whichever runs first finds the threads longest asleep.
        switch (index % 3) {
        case 0:
            broadcast(&samples.broadcast);
            pluginEmit(&samples.pluginEmit);
            rawFanout(&samples.raw);
            break;
        case 1:
            pluginEmit(&samples.pluginEmit);
            rawFanout(&samples.raw);
            broadcast(&samples.broadcast);
            break;
        default:
            rawFanout(&samples.raw);
            broadcast(&samples.broadcast);
            pluginEmit(&samples.pluginEmit);
            break;
        }
    }
    return samples;
}

Result fanoutResult(const QString &name, const std::vector<double> &sdk, const std::vector<double> &raw, const QString &sent)
{
    Result result;
    result.name = name;
    result.unit = QStringLiteral("us");
    result.value = Statistics::of(sdk);
    result.baselineName = QStringLiteral("raw_cv_fanout_us");
    result.baseline = Statistics::of(raw);
    result.note = QStringLiteral("%1 until all %2 subscribed plugins' handlers ran, each answering pluginhost.emit(\"ack\"), and the "
                                 "main thread's event loop counted %2 PluginManager::eventEmitted(\"ack\"). Baseline: %2 raw "
                                 "interpreter threads woken through their condition variables, each calling minimal.noop() and "
                                 "posting a queued call to the same counter (a hand-rolled host's fan-out). Threads not pinned; "
                                 "broadcast, plugin emit and raw rounds interleaved, rotating the order.")
                      .arg(sent)
                      .arg(listenerCount);
    return result;
}
// Both rows come out of the same rounds (broadcast, plugin emit and raw interleave): sampled
// once per run, by whichever row is measured first.
const FanoutSamples &fanoutSamples(const Settings &settings)
{
    static std::optional<FanoutSamples> samples;
    if (!samples) {
        samples = sampleFanout(settings);
    }
    return *samples;
}
} // namespace

Result measureEventFanout(const Settings &settings)
{
    const FanoutSamples &samples = fanoutSamples(settings);
    return fanoutResult(QStringLiteral("event_fanout_us"),
                        samples.broadcast,
                        samples.raw,
                        QStringLiteral("PluginManager::broadcast(\"ping\") from the main thread"));
}

Result measureEventFanoutFromPlugin(const Settings &settings)
{
    const FanoutSamples &samples = fanoutSamples(settings);
    return fanoutResult(QStringLiteral("event_fanout_emit_us"),
                        samples.pluginEmit,
                        samples.raw,
                        QStringLiteral("Plugin::call(\"send\") of plugins/sender, which calls pluginhost.emit(\"ping\"),"));
}

} // namespace Bench
