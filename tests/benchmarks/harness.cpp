#include "harness.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace Bench
{

namespace
{
// Linear interpolation between closest ranks, as numpy's default percentile.
double quantile(const std::vector<double> &sorted, double fraction)
{
    const double position = fraction * double(sorted.size() - 1);
    const auto below = std::size_t(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    return sorted[below] + (sorted[above] - sorted[below]) * (position - double(below));
}

// Three significant digits, never scientific: 0.0123, 1.23, 12.3, 123, 12345.
QString number(double value)
{
    const double magnitude = std::fabs(value);
    int decimals = 0;
    if (magnitude < 1) {
        decimals = 4;
    } else if (magnitude < 10) {
        decimals = 2;
    } else if (magnitude < 100) {
        decimals = 1;
    }
    return QString::number(value, 'f', decimals);
}

QString withSpread(const Statistics &statistics)
{
    return QStringLiteral("%1 [%2-%3]").arg(number(statistics.median), number(statistics.lowerQuartile), number(statistics.upperQuartile));
}

QString pad(const QString &text, qsizetype width)
{
    return text.leftJustified(width, QLatin1Char(' '));
}
} // namespace

Statistics Statistics::of(std::vector<double> samples)
{
    Statistics statistics;
    if (samples.empty()) {
        return statistics;
    }
    std::sort(samples.begin(), samples.end());
    statistics.median = quantile(samples, 0.5);
    statistics.lowerQuartile = quantile(samples, 0.25);
    statistics.upperQuartile = quantile(samples, 0.75);
    statistics.minimum = samples.front();
    statistics.maximum = samples.back();
    statistics.count = int(samples.size());
    return statistics;
}

QString Target::text() const
{
    switch (kind) {
    case Kind::Report:
        return QStringLiteral("report");
    case Kind::RatioAtMost:
        return QStringLiteral("<= %1x baseline").arg(bound);
    case Kind::ValueAtLeast:
        return QStringLiteral(">= %1").arg(bound);
    case Kind::ValueAtMost:
        return QStringLiteral("<= %1").arg(bound);
    }
    return QString();
}

std::optional<double> Result::ratio() const
{
    if (!baseline || baseline->median == 0) {
        return std::nullopt;
    }
    return value.median / baseline->median;
}

std::optional<bool> Result::targetMet() const
{
    switch (target.kind) {
    case Target::Kind::Report:
        return std::nullopt;
    case Target::Kind::RatioAtMost:
        if (const auto r = ratio()) {
            return *r <= target.bound;
        }
        return std::nullopt;
    case Target::Kind::ValueAtLeast:
        return value.median >= target.bound;
    case Target::Kind::ValueAtMost:
        return value.median <= target.bound;
    }
    return std::nullopt;
}

QString formatTable(const std::vector<Result> &results)
{
    const QStringList header{QStringLiteral("name"),
                             QStringLiteral("value [IQR]"),
                             QStringLiteral("unit"),
                             QStringLiteral("n"),
                             QStringLiteral("baseline"),
                             QStringLiteral("baseline value [IQR]"),
                             QStringLiteral("ratio"),
                             QStringLiteral("better"),
                             QStringLiteral("target"),
                             QStringLiteral("met")};
    std::vector<QStringList> rows{header};
    for (const Result &result : results) {
        const auto ratio = result.ratio();
        const auto met = result.targetMet();
        rows.push_back({result.name,
                        withSpread(result.value),
                        result.unit,
                        QString::number(result.value.count),
                        result.baselineName.isEmpty() ? QStringLiteral("-") : result.baselineName,
                        result.baseline ? withSpread(*result.baseline) : QStringLiteral("-"),
                        ratio ? QStringLiteral("%1x").arg(*ratio, 0, 'f', 3) : QStringLiteral("-"),
                        result.better == Better::Lower ? QStringLiteral("lower is better") : QStringLiteral("higher is better"),
                        result.target.text(),
                        met ? (*met ? QStringLiteral("yes") : QStringLiteral("NO")) : QStringLiteral("-")});
    }
    std::vector<qsizetype> widths(header.size(), 0);
    for (const QStringList &row : rows) {
        for (qsizetype column = 0; column < row.size(); ++column) {
            widths[column] = std::max(widths[column], row[column].size());
        }
    }
    QString table;
    for (std::size_t index = 0; index < rows.size(); ++index) {
        QStringList cells;
        for (qsizetype column = 0; column < rows[index].size(); ++column) {
            cells.append(pad(rows[index][column], widths[column]));
        }
        table += cells.join(QLatin1String("  ")).trimmed() + QLatin1Char('\n');
        if (index == 0) {
            table += QString(table.size() - 1, QLatin1Char('-')) + QLatin1Char('\n');
        }
    }
    for (const Result &result : results) {
        if (!result.note.isEmpty()) {
            table += QStringLiteral("\n%1: %2").arg(result.name, result.note);
        }
    }
    return table + QLatin1Char('\n');
}

QByteArray toJson(const QString &pythonVersion, const QString &gil, const QString &malloc, const std::vector<Result> &results)
{
    // Written by hand rather than through QJsonObject, which sorts keys: the fields keep
    // the order issue 6 gives them.
    const auto encode = [](const QJsonValue &value) {
        const QByteArray array = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
        return array.mid(1, array.size() - 2);
    };
    QByteArrayList rows;
    for (const Result &result : results) {
        const auto ratio = result.ratio();
        rows.append("    {\"name\": " + encode(result.name) + ", \"value\": " + encode(result.value.median) + ", \"unit\": " + encode(result.unit)
                    + ", \"baseline_name\": " + encode(result.baseline ? QJsonValue(result.baselineName) : QJsonValue())
                    + ", \"baseline_value\": " + encode(result.baseline ? QJsonValue(result.baseline->median) : QJsonValue())
                    + ", \"ratio\": " + encode(ratio ? QJsonValue(*ratio) : QJsonValue()) + '}');
    }
    return "{\"python\": " + encode(pythonVersion) + ", \"gil\": " + encode(gil) + ", \"malloc\": " + encode(malloc) + ", \"results\": [\n" + rows.join(",\n") + "\n]}\n";
}

QString runProbe(const Settings &settings, const QString &option, const QString &mode, const QString &pluginsRoot, std::chrono::milliseconds timeout, const QString &what)
{
    QProcess probe;
    probe.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    QStringList arguments{option, mode, QStringLiteral("--rss-plugins"), pluginsRoot};
    if (settings.systemAllocator) {
        arguments.append(QStringLiteral("--system-allocator"));
    }
    probe.start(settings.selfExecutable, arguments);
    if (!probe.waitForFinished(int(timeout.count())) || probe.exitStatus() != QProcess::NormalExit || probe.exitCode() != 0) {
        probe.kill();
        probe.waitForFinished();
        throw std::runtime_error(QStringLiteral("the %1 %2 failed (exit code %3)").arg(mode, what).arg(probe.exitCode()).toStdString());
    }
    return QString::fromUtf8(probe.readAllStandardOutput()).trimmed().section(QLatin1Char('\n'), -1);
}

qint64 residentKib(qint64 pid, const char *field)
{
    QFile status(pid == 0 ? QStringLiteral("/proc/self/status") : QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly)) {
        return -1;
    }
    const QRegularExpression line(QStringLiteral("^%1:\\s*(\\d+)\\s*kB").arg(QLatin1String(field)), QRegularExpression::MultilineOption);
    const QRegularExpressionMatch match = line.match(QString::fromLatin1(status.readAll()));
    return match.hasMatch() ? match.captured(1).toLongLong() : -1;
}

} // namespace Bench
