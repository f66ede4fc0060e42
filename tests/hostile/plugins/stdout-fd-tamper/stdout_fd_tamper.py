"""Points file descriptor 1 at /dev/null, then closes it."""
import os

import pluginhost


@pluginhost.export
def tamper():
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    os.close(1)
    return "tampered"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
