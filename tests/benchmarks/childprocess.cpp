#include "childprocess.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace Bench
{

namespace
{
[[noreturn]] void fail(const char *what)
{
    throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}
} // namespace

ChildProcess::ChildProcess(const QString &program, const QStringList &arguments)
{
    int toChild[2];
    int fromChild[2];
    if (pipe2(toChild, O_CLOEXEC) != 0) {
        fail("pipe");
    }
    if (pipe2(fromChild, O_CLOEXEC) != 0) {
        close(toChild[0]);
        close(toChild[1]);
        fail("pipe");
    }

    std::vector<QByteArray> storage{program.toLocal8Bit()};
    for (const QString &argument : arguments) {
        storage.push_back(argument.toLocal8Bit());
    }
    std::vector<char *> argv;
    for (QByteArray &argument : storage) {
        argv.push_back(argument.data());
    }
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO);
    const int spawned = posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(toChild[0]);
    close(fromChild[1]);
    m_toChild = toChild[1];
    m_fromChild = fromChild[0];
    if (spawned != 0) {
        close(m_toChild);
        close(m_fromChild);
        errno = spawned;
        fail(storage.front().constData());
    }
}

ChildProcess::~ChildProcess()
{
    close(m_toChild);
    close(m_fromChild);
    for (int attempt = 0; attempt < 500; ++attempt) {
        if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
            return;
        }
        usleep(2000);
    }
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
}

void ChildProcess::write(const QByteArray &data)
{
    qsizetype written = 0;
    while (written < data.size()) {
        const ssize_t result = ::write(m_toChild, data.constData() + written, std::size_t(data.size() - written));
        if (result < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("write to child");
        }
        written += result;
    }
}

QByteArray ChildProcess::readLine()
{
    for (;;) {
        if (const qsizetype newline = m_buffered.indexOf('\n'); newline >= 0) {
            QByteArray line = m_buffered.left(newline + 1);
            m_buffered.remove(0, newline + 1);
            return line;
        }
        char chunk[4096];
        const ssize_t result = ::read(m_fromChild, chunk, sizeof chunk);
        if (result < 0 && errno == EINTR) {
            continue;
        }
        if (result < 0) {
            fail("read from child");
        }
        if (result == 0) {
            throw std::runtime_error("the child process closed its output");
        }
        m_buffered.append(chunk, result);
    }
}

} // namespace Bench
