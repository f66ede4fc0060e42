// The benchmark harness: samples, their statistics, result rows, the table and the JSON.
//
// Every measurement returns one Result: the SDK's figure and, where there is one, the
// figure of the raw alternative measured in the same run. Ratios are SDK ÷ baseline.
#pragma once

#include <QString>
#include <QStringList>

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

namespace Bench
{

using Clock = std::chrono::steady_clock;

inline double millisecondsBetween(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration<double, std::milli>(to - from).count();
}

inline double microsecondsBetween(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration<double, std::micro>(to - from).count();
}

/// Median and spread of a set of samples.
struct Statistics {
    double median = 0;
    double lowerQuartile = 0;
    double upperQuartile = 0;
    double minimum = 0;
    double maximum = 0;
    int count = 0;

    static Statistics of(std::vector<double> samples);
};

enum class Better {
    Lower,
    Higher,
};

/// What a result should reach: a bound on the ratio, a bound on the value, or nothing.
struct Target {
    enum class Kind {
        Report,
        RatioAtMost,
        ValueAtLeast,
        ValueAtMost,
    };
    Kind kind = Kind::Report;
    double bound = 0;

    static Target report()
    {
        return {};
    }
    static Target ratioAtMost(double bound)
    {
        return {Kind::RatioAtMost, bound};
    }
    static Target valueAtLeast(double bound)
    {
        return {Kind::ValueAtLeast, bound};
    }
    static Target valueAtMost(double bound)
    {
        return {Kind::ValueAtMost, bound};
    }
    QString text() const;
};

struct Result {
    QString name;
    QString unit;
    Better better = Better::Lower;
    Statistics value;
    QString baselineName; ///< empty when there is no baseline
    std::optional<Statistics> baseline;
    Target target;
    QString note; ///< printed under the table: what the number includes, what dominates

    std::optional<double> ratio() const;
    /// Empty when the target is only "report".
    std::optional<bool> targetMet() const;
};

/// What every measurement may read.
struct Settings {
    int repeatOverride = 0; ///< --repeat; 0 means each measurement's own default
    QString fixtures; ///< tests/benchmarks/plugins
    QString pythonExecutable; ///< the python3 of the CPython we embed
    QString selfExecutable; ///< this program, for probes in a fresh process
    bool systemAllocator = false; ///< --system-allocator: Runtime::Options::systemAllocator, probes included

    int repeat(int defaultCount) const
    {
        return repeatOverride > 0 ? repeatOverride : defaultCount;
    }
};

struct Measurement {
    QString name;
    std::function<Result(const Settings &)> measure;
};

QString formatTable(const std::vector<Result> &results);
/// {"python": …, "gil": …, "malloc": …, "results": [{"name", "value", "unit", "baseline_name", "baseline_value", "ratio"}, …]};
/// `malloc` is the C allocator the process ran on, beside the fields issue 6 names.
QByteArray toJson(const QString &pythonVersion, const QString &gil, const QString &malloc, const std::vector<Result> &results);

/// Runs this program again in a fresh process, as `<option> <mode> --rss-plugins <pluginsRoot>`
/// (with --system-allocator when set), and returns the last line it printed. Throws, naming
/// `what` ("memory probe"), when it fails or outlasts `timeout`.
QString runProbe(const Settings &settings, const QString &option, const QString &mode, const QString &pluginsRoot, std::chrono::milliseconds timeout, const QString &what);

/// A field of /proc/<pid>/status in KiB, VmRSS unless told (the calling process for pid 0), or -1.
qint64 residentKib(qint64 pid = 0, const char *field = "VmRSS");

} // namespace Bench
