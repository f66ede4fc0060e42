"""on_unload() sleeps in C."""
import time

import pluginhost


def on_unload():
    time.sleep(30)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
