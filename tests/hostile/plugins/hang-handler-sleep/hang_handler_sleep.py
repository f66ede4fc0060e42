"""An event handler that sleeps in C."""
import time

import pluginhost


@pluginhost.on("hostile.nap")
def nap(event):
    time.sleep(30)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
