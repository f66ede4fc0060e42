"""An export that sleeps in C."""
import time

import pluginhost


@pluginhost.export
def nap():
    time.sleep(30)
    return "rested"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
