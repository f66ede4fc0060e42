// Capturing what plugins and the SDK log, in tests: a Qt message handler that keeps the
// records of some categories and passes everything on to QTest's.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QtGlobal>

#include <mutex>
#include <utility>

namespace PluginHost::Tests
{

struct LogEntry {
    QtMsgType type;
    QString category;
    QString message;
    QString file;
    int line;
};

// One per test program: install() in initTestCase(), uninstall() in cleanupTestCase().
class LogCapture
{
public:
    /// Keeps the records of the categories whose names start with `categoryPrefix`.
    static void install(const QByteArray &categoryPrefix)
    {
        LogCapture &capture = instance();
        capture.m_prefix = categoryPrefix;
        capture.m_previous = qInstallMessageHandler(&LogCapture::handle);
    }
    static void uninstall()
    {
        qInstallMessageHandler(instance().m_previous);
    }

    /// The records kept since the last take(), in order; forgets them.
    static QList<LogEntry> take()
    {
        LogCapture &capture = instance();
        std::lock_guard lock(capture.m_mutex);
        return std::exchange(capture.m_entries, {});
    }

private:
    static LogCapture &instance()
    {
        static LogCapture capture;
        return capture;
    }

    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &message)
    {
        LogCapture &capture = instance();
        if (context.category && QByteArray(context.category).startsWith(capture.m_prefix)) {
            std::lock_guard lock(capture.m_mutex);
            capture.m_entries.append({type, QString::fromUtf8(context.category), message, QString::fromUtf8(context.file), context.line});
        }
        capture.m_previous(type, context, message);
    }

    std::mutex m_mutex;
    QList<LogEntry> m_entries;
    QByteArray m_prefix;
    QtMessageHandler m_previous = nullptr;
};

} // namespace PluginHost::Tests
