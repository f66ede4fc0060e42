"""Starts processes every way Python knows, without the subprocess permission."""
import os
import subprocess

import pluginhost


@pluginhost.export
def run():
    return subprocess.run(["true"]).returncode


@pluginhost.export
def popen():
    return os.popen("true").read()


@pluginhost.export
def system():
    return os.system("true")


@pluginhost.export
def posix_spawn():
    return os.posix_spawn("/bin/true", ["true"], {})


@pluginhost.export
def execv():
    os.execv("/bin/true", ["true"])


@pluginhost.export
def fork():
    return os.fork()


@pluginhost.export
def fork_exec_directly():
    """What subprocess.Popen does inside, without its audit event."""
    import _posixsubprocess

    errpipe_read, errpipe_write = os.pipe()
    try:
        return _posixsubprocess.fork_exec(
            [b"/bin/true"], [b"/bin/true"], True, (errpipe_write,), None, None,
            -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write,
            False, False, -1, None, None, -1, -1, None, False)
    finally:
        os.close(errpipe_read)
        os.close(errpipe_write)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
