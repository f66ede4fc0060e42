"""An atexit handler that sleeps in C."""
import atexit
import time

import pluginhost

atexit.register(time.sleep, 30)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
