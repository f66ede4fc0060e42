#pragma once

#include "pluginhostcore_export.h"

#include <QException>
#include <QFuture>
#include <QMetaType>
#include <QSharedDataPointer>
#include <QString>
#include <QVariant>

namespace PluginHost
{

class PluginErrorData;

/*!
 * \class PluginHost::PluginError
 * \brief What went wrong with a plugin: one error type for loading, calls and unloading.
 *
 * For an exception raised by Python code it carries the exception type, its message,
 * the formatted traceback and the innermost file and line.
 *
 * \code
 * plugin->call(u"greet"_s, {u"Ada"_s})
 *     .then(this, [](const QVariant &greeting) { label->setText(greeting.toString()); })
 *     .onFailed(this, [](const PluginHost::CallError &failure) {
 *         qWarning() << failure.error().errorText();
 *     });
 * \endcode
 *
 * \since 0.1
 */
class PLUGINHOSTCORE_EXPORT PluginError
{
    Q_GADGET
public:
    enum class Kind {
        NoError,
        PythonException, ///< Python code raised; see pythonType(), traceback()
        InvalidMetaData, ///< metadata.json is missing, malformed or incomplete
        LoadFailed, ///< importing the entry module or on_load() failed
        NotFound, ///< no such plugin, or no such function in it
        InvalidValue, ///< a value cannot cross between interpreters
        Unloaded, ///< the plugin was unloaded (or never loaded) before the call ran
        InterpreterFailed, ///< CPython could not create the interpreter
        TimedOut, ///< a deadline passed
        Cancelled, ///< the caller cancelled
        CallCycle, ///< a plugin-to-plugin call would wait on a plugin that is itself waiting on the caller
        StorageFailed, ///< the profile database could not be read or written (locked, disk full, read-only, …) \since 0.2
        Overloaded, ///< the plugin's mailbox is full: it is not keeping up with its calls and events \since 0.2
    };
    Q_ENUM(Kind)

    PluginError();
    PluginError(Kind kind, const QString &pluginId, const QString &message);
    PluginError(const PluginError &other);
    PluginError(PluginError &&other) noexcept;
    PluginError &operator=(const PluginError &other);
    PluginError &operator=(PluginError &&other) noexcept;
    ~PluginError();

    Kind kind() const;
    bool isError() const;
    QString pluginId() const;
    /// One line: what happened (the Python exception's message for PythonException).
    QString message() const;
    /// "ValueError", "mymodule.CustomError"; empty unless Python raised.
    QString pythonType() const;
    /// The formatted Python traceback, ending with the exception line; empty unless Python raised.
    QString traceback() const;
    /// Innermost file and line of the Python code involved, when known.
    QString fileName() const;
    int line() const;

    /// Untranslated, complete: "org.example.echo: ValueError: bad (echo/__init__.py:12)" plus the traceback.
    QString errorText() const;
    /// Translated one-line summary for users.
    QString errorString() const;

    void setPythonDetails(const QString &pythonType, const QString &traceback, const QString &fileName, int line);
    void setKind(Kind kind);
    void setMessage(const QString &message);

private:
    QSharedDataPointer<PluginErrorData> d;
};

/*!
 * The exception a failed QFuture<QVariant> from Plugin::call() holds. Catch it in
 * `.onFailed(context, [](const PluginHost::CallError &failure) { … })`.
 */
class PLUGINHOSTCORE_EXPORT CallError : public QException
{
public:
    explicit CallError(const PluginError &error);
    ~CallError() override;
    PluginError error() const;
    const char *what() const noexcept override;
    void raise() const override;
    CallError *clone() const override;

private:
    PluginError m_error;
    QByteArray m_what;
};

/*!
 * A value or an error: what blocking calls return, and what load(), unload() and
 * reload() futures carry. Converts to true when there is no error.
 */
class PLUGINHOSTCORE_EXPORT CallResult
{
public:
    CallResult() = default;
    CallResult(const QVariant &value) // NOLINT(google-explicit-constructor): a value is a success
        : m_value(value)
    {
    }
    CallResult(const PluginError &error) // NOLINT(google-explicit-constructor): an error is a failure
        : m_error(error)
    {
    }
    QVariant value() const
    {
        return m_value;
    }
    PluginError error() const
    {
        return m_error;
    }
    explicit operator bool() const
    {
        return !m_error.isError();
    }

    /// Waits for a finished or finishing call future and unwraps its CallError, so code built
    /// without exceptions can inspect failures. Never call it on the GUI thread for a
    /// future that is still running.
    static CallResult fromFuture(QFuture<QVariant> future);

private:
    QVariant m_value;
    PluginError m_error;
};

} // namespace PluginHost

Q_DECLARE_METATYPE(PluginHost::PluginError)
Q_DECLARE_METATYPE(PluginHost::CallResult)
