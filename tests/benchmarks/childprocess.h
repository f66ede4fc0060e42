// The process-per-plugin alternative: a child Python process talking over pipes.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <sys/types.h>

namespace Bench
{

/*
 * A child process with its stdin and stdout connected to pipes, spawned directly
 * (posix_spawn, no shell, no QProcess: nothing but read() and write() on the path we time).
 * The destructor closes its stdin and reaps it, killing it if it does not end.
 */
class ChildProcess
{
public:
    /// Throws std::runtime_error when the program cannot be started.
    ChildProcess(const QString &program, const QStringList &arguments);
    ~ChildProcess();
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;

    pid_t pid() const
    {
        return m_pid;
    }

    /// Writes all of `data` to the child's stdin. Throws std::runtime_error on failure.
    void write(const QByteArray &data);

    /// Reads from the child's stdout up to and including the next '\n'. Throws
    /// std::runtime_error when the child closed it first.
    QByteArray readLine();

private:
    pid_t m_pid = -1;
    int m_toChild = -1;
    int m_fromChild = -1;
    QByteArray m_buffered;
};

} // namespace Bench
