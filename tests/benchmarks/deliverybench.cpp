// Reaching an interpreter that is busy in Python: the SDK's interrupt job against a raw
// pending call (_PyEval_AddPendingCall, through the SDK's own shim), both to a thread
// spinning in the same pure-Python loop (plugins/busy).
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "measurements.h"
#include "placement.h"
#include "pluginfarm.h"
#include "rawinterpreter.h"

#include <PluginHost/Runtime>

#include "runtime/interpreter.h"

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

using namespace PluginHost;
using namespace std::chrono_literals;

namespace Bench
{

namespace
{
const QString busyId = QStringLiteral("org.bench.busy");
constexpr int deliveriesPerBlock = 250;

qint64 nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// busy.spin() returns once busy.stop is not empty. `stop` is busy.stop, a new reference (or
// null); interpreter thread, GIL held.
void stopSpinning(PyObject *stop)
{
    if (!stop || PyList_Append(stop, Py_True) < 0) {
        PyErr_Clear();
    }
    Py_XDECREF(stop);
}

// An SDK Interpreter (what every plugin runs in) with plugins/busy imported, its sys.path set
// as the SDK's load job sets it.
class BusyInterpreter
{
public:
    explicit BusyInterpreter(const QString &directory)
    {
        Interpreter::Config config;
        config.name = busyId;
        m_interpreter = Interpreter::start(config);
        auto importing = std::make_shared<std::promise<QString>>(); // the error, or empty
        std::future<QString> imported = importing->get_future();
        m_interpreter->post(Job::fromFunctions(
            Job::Kind::Ordinary,
            [this, directory, importing](Interpreter &) {
                if (!setPluginSysPath(directory)) {
                    PyErr_Clear();
                    importing->set_value(QStringLiteral("cannot set sys.path"));
                    return 0;
                }
                m_module = PyImport_ImportModule("busy");
                if (!m_module) {
                    PyErr_Clear();
                    importing->set_value(QStringLiteral("cannot import busy from %1").arg(directory));
                } else {
                    importing->set_value(QString());
                }
                return 0;
            },
            [importing](Job::DiscardReason, const QString &detail) {
                importing->set_value(detail);
            }));
        if (const QString error = imported.get(); !error.isEmpty()) {
            throw std::runtime_error(error.toStdString());
        }
    }

    ~BusyInterpreter()
    {
        m_interpreter->post(Job::fromFunctions(
            Job::Kind::Ordinary,
            [this](Interpreter &) {
                Py_CLEAR(m_module);
                return 0;
            },
            {}));
        m_interpreter->stop();
        m_interpreter->wait(10s);
    }

    pid_t threadId() const
    {
        return threadNamed(QStringLiteral("py:") + busyId);
    }

    // Queues busy.spin() as an ordinary job and waits until it started: the interpreter stays
    // busy until stopSpinning().
    void spin()
    {
        m_interpreter->post(Job::fromFunctions(
            Job::Kind::Ordinary,
            [this](Interpreter &) {
                PyObject *returned = PyObject_CallMethod(m_module, "spin", nullptr);
                if (!returned) {
                    PyErr_Clear();
                }
                Py_XDECREF(returned);
                return 0;
            },
            {}));
        while (!m_interpreter->isBusy()) {
            std::this_thread::yield();
        }
    }

    // The measured path: an interrupt job that notes when it ran.
    void interrupt(std::atomic<qint64> *ranAt)
    {
        m_interpreter->post(Job::fromFunctions(
            Job::Kind::Interrupt,
            [ranAt](Interpreter &) {
                ranAt->store(nowNs(), std::memory_order_release);
                return 0;
            },
            {}));
    }

    void stopSpinning()
    {
        m_interpreter->post(Job::fromFunctions(
            Job::Kind::Interrupt,
            [this](Interpreter &) {
                Bench::stopSpinning(PyObject_GetAttrString(m_module, "stop"));
                return 0;
            },
            {}));
    }

private:
    std::shared_ptr<Interpreter> m_interpreter;
    PyObject *m_module = nullptr; // interpreter thread only
};

// The raw baseline's pending calls.
struct RawDelivery {
    std::atomic<qint64> ranAt{0};
    RawInterpreter *interpreter = nullptr;

    static int noteRun(void *argument)
    {
        static_cast<RawDelivery *>(argument)->ranAt.store(nowNs(), std::memory_order_release);
        return 0;
    }
    static int stop(void *argument)
    {
        stopSpinning(static_cast<RawDelivery *>(argument)->interpreter->moduleAttribute("stop"));
        return 0;
    }
};

// Waits (spinning: the caller has a CPU of its own) until `ranAt` is set; returns it.
qint64 awaitDelivery(const std::atomic<qint64> &ranAt)
{
    const auto giveUp = Clock::now() + 10s;
    for (;;) {
        if (const qint64 at = ranAt.load(std::memory_order_acquire); at != 0) {
            return at;
        }
        if (Clock::now() > giveUp) {
            throw std::runtime_error("a delivery to a busy interpreter never ran");
        }
    }
}
} // namespace

Result measureBusyDelivery(const Settings &settings)
{
    if (usableCpuCount() < 2) {
        throw std::runtime_error("needs two CPUs");
    }
    PluginFarm farm(settings.fixtures);
    const QString directory = farm.add(QStringLiteral("busy"), busyId);
    BusyInterpreter sdk(directory);
    RawInterpreter raw(directory, QStringLiteral("busy"));
    RawDelivery rawDelivery;
    rawDelivery.interpreter = &raw;
    PyInterpreterState *rawState = raw.interpreterState();
    // The busy threads on one CPU (only one spins at a time), the caller spinning on the other.
    const int callerCpu = usableCpu(0);
    const int interpreterCpu = usableCpu(1);
    pinThread(sdk.threadId(), interpreterCpu);
    pinThread(raw.threadId(), interpreterCpu);

    std::vector<double> sdkSamples, rawSamples; // microseconds
    std::vector<double> sdkPosting, rawPosting; // of those, until post() or addPendingCall() returned
    const int blocks = std::max(2, settings.repeat(5000) / deliveriesPerBlock);
    runOnWorkerThread([&] {
        pinThread(0, callerCpu);
        std::atomic<qint64> sdkRanAt{0};
        const auto sdkBlock = [&](std::vector<double> *into) {
            sdk.spin();
            for (int delivery = -10; delivery < deliveriesPerBlock; ++delivery) { // the first ten while spin() starts
                sdkRanAt.store(0);
                const qint64 postedAt = nowNs();
                sdk.interrupt(&sdkRanAt);
                const qint64 postReturnedAt = nowNs();
                const qint64 ranAt = awaitDelivery(sdkRanAt);
                if (into && delivery >= 0) {
                    into->push_back(double(ranAt - postedAt) / 1000.0);
                    sdkPosting.push_back(double(postReturnedAt - postedAt) / 1000.0);
                }
                std::this_thread::sleep_for(20us); // let the loop run on between deliveries
            }
            sdk.stopSpinning();
        };
        const auto rawBlock = [&](std::vector<double> *into) {
            raw.begin("spin");
            for (int delivery = -10; delivery < deliveriesPerBlock; ++delivery) {
                rawDelivery.ranAt.store(0);
                const qint64 postedAt = nowNs();
                if (!Shim::addPendingCall(rawState, &RawDelivery::noteRun, &rawDelivery)) {
                    throw std::runtime_error("the raw interpreter's pending-call queue is full");
                }
                const qint64 postReturnedAt = nowNs();
                const qint64 ranAt = awaitDelivery(rawDelivery.ranAt);
                if (into && delivery >= 0) {
                    into->push_back(double(ranAt - postedAt) / 1000.0);
                    rawPosting.push_back(double(postReturnedAt - postedAt) / 1000.0);
                }
                std::this_thread::sleep_for(20us);
            }
            while (!Shim::addPendingCall(rawState, &RawDelivery::stop, &rawDelivery)) {
                std::this_thread::sleep_for(1ms);
            }
            raw.finish();
        };
        sdkBlock(nullptr);
        rawBlock(nullptr);
        for (int block = 0; block < blocks; ++block) {
            if (block % 2 == 0) {
                sdkBlock(&sdkSamples);
                rawBlock(&rawSamples);
            } else {
                rawBlock(&rawSamples);
                sdkBlock(&sdkSamples);
            }
        }
    });

    Result result;
    result.name = QStringLiteral("busy_delivery_us");
    result.unit = QStringLiteral("us");
    result.value = Statistics::of(sdkSamples);
    result.baselineName = QStringLiteral("raw_pending_call_us");
    result.baseline = Statistics::of(rawSamples);
    result.target = Target::ratioAtMost(1.5);
    result.note = QStringLiteral("from posting a Job::Kind::Interrupt job to an Interpreter (what each plugin runs in) busy in "
                                 "plugins/busy's `while not stop: turns += 1`, until the job ran (timestamp inside it), vs "
                                 "_PyEval_AddPendingCall (Shim::addPendingCall) to a raw interpreter busy in the same loop until "
                                 "the pending call ran; busy threads pinned to one CPU, the caller spin-waiting on the other; "
                                 "blocks of %1 alternating. Of that, Interpreter::post() took %2 us and addPendingCall() %3 us "
                                 "(medians).")
                      .arg(deliveriesPerBlock)
                      .arg(Statistics::of(sdkPosting).median, 0, 'f', 2)
                      .arg(Statistics::of(rawPosting).median, 0, 'f', 2);
    return result;
}

} // namespace Bench
