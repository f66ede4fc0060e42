#include "standardoutput.h"

#include <QtGlobal>

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <unistd.h>
#endif

int reserveStandardOutput()
{
#ifdef Q_OS_UNIX
    // At least 3: with stdin closed, the copy must not become descriptor 0.
    const int reserved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (reserved < 0) {
        return STDOUT_FILENO;
    }
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        close(reserved);
        return STDOUT_FILENO;
    }
    return reserved;
#else
    return 1;
#endif
}
