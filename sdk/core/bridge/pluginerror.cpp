#include "pluginerror.h"

#include <QCoreApplication>

namespace PluginHost
{

class PluginErrorData : public QSharedData
{
public:
    PluginError::Kind kind = PluginError::Kind::NoError;
    QString pluginId;
    QString message;
    QString pythonType;
    QString traceback;
    QString fileName;
    int line = 0;
};

PluginError::PluginError()
    : d(new PluginErrorData)
{
}

PluginError::PluginError(Kind kind, const QString &pluginId, const QString &message)
    : d(new PluginErrorData)
{
    d->kind = kind;
    d->pluginId = pluginId;
    d->message = message;
}

PluginError::PluginError(const PluginError &other) = default;
PluginError::PluginError(PluginError &&other) noexcept = default;
PluginError &PluginError::operator=(const PluginError &other) = default;
PluginError &PluginError::operator=(PluginError &&other) noexcept = default;
PluginError::~PluginError() = default;

PluginError::Kind PluginError::kind() const
{
    return d->kind;
}

bool PluginError::isError() const
{
    return d->kind != Kind::NoError;
}

QString PluginError::pluginId() const
{
    return d->pluginId;
}

QString PluginError::message() const
{
    return d->message;
}

QString PluginError::pythonType() const
{
    return d->pythonType;
}

QString PluginError::traceback() const
{
    return d->traceback;
}

QString PluginError::fileName() const
{
    return d->fileName;
}

int PluginError::line() const
{
    return d->line;
}

QString PluginError::errorText() const
{
    if (!isError()) {
        return QString();
    }
    QString text = d->pluginId.isEmpty() ? QString() : d->pluginId + QLatin1String(": ");
    if (!d->pythonType.isEmpty()) {
        text += d->pythonType + QLatin1String(": ");
    }
    text += d->message;
    if (!d->fileName.isEmpty()) {
        text += QStringLiteral(" (%1:%2)").arg(d->fileName).arg(d->line);
    }
    if (!d->traceback.isEmpty()) {
        text += QLatin1Char('\n') + d->traceback.trimmed();
    }
    return text;
}

QString PluginError::errorString() const
{
    const QString where = d->pluginId;
    switch (d->kind) {
    case Kind::NoError:
        return QString();
    case Kind::PythonException:
        return QCoreApplication::translate("PluginError", "Plugin %1 failed: %2").arg(where, d->pythonType + QLatin1String(": ") + d->message);
    case Kind::InvalidMetaData:
        return QCoreApplication::translate("PluginError", "Plugin %1 has invalid metadata: %2").arg(where, d->message);
    case Kind::LoadFailed:
        return QCoreApplication::translate("PluginError", "Plugin %1 could not be loaded: %2").arg(where, d->message);
    case Kind::NotFound:
        return QCoreApplication::translate("PluginError", "Not found in plugin %1: %2").arg(where, d->message);
    case Kind::InvalidValue:
        return QCoreApplication::translate("PluginError", "Plugin %1 got or returned a value that cannot be passed on: %2").arg(where, d->message);
    case Kind::Unloaded:
        return QCoreApplication::translate("PluginError", "Plugin %1 is not loaded").arg(where);
    case Kind::InterpreterFailed:
        return QCoreApplication::translate("PluginError", "Python could not start for plugin %1: %2").arg(where, d->message);
    case Kind::TimedOut:
        return QCoreApplication::translate("PluginError", "Plugin %1 did not answer in time").arg(where);
    case Kind::Cancelled:
        return QCoreApplication::translate("PluginError", "The call to plugin %1 was cancelled").arg(where);
    case Kind::CallCycle:
        return QCoreApplication::translate("PluginError", "Plugin %1 made a call that would wait forever: %2").arg(where, d->message);
    case Kind::StorageFailed:
        return QCoreApplication::translate("PluginError", "The storage of plugin %1 failed: %2").arg(where, d->message);
    case Kind::Overloaded:
        return QCoreApplication::translate("PluginError", "Plugin %1 is overloaded: %2").arg(where, d->message);
    }
    return d->message;
}

void PluginError::setPythonDetails(const QString &pythonType, const QString &traceback, const QString &fileName, int line)
{
    d->pythonType = pythonType;
    d->traceback = traceback;
    d->fileName = fileName;
    d->line = line;
}

void PluginError::setKind(Kind kind)
{
    d->kind = kind;
}

void PluginError::setMessage(const QString &message)
{
    d->message = message;
}

CallError::CallError(const PluginError &error)
    : m_error(error)
    , m_what(error.errorText().toUtf8())
{
}

CallError::~CallError() = default;

PluginError CallError::error() const
{
    return m_error;
}

const char *CallError::what() const noexcept
{
    return m_what.constData();
}

void CallError::raise() const
{
    throw *this;
}

CallError *CallError::clone() const
{
    return new CallError(*this);
}

CallResult CallResult::fromFuture(QFuture<QVariant> future)
{
    try {
        future.waitForFinished();
        if (future.isCanceled() || future.resultCount() == 0) {
            return PluginError(PluginError::Kind::Cancelled, QString(), QStringLiteral("the call was cancelled"));
        }
        return future.result();
    } catch (const CallError &failure) {
        return failure.error();
    }
}

} // namespace PluginHost
