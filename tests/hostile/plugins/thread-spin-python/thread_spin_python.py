"""A non-daemon thread that spins in Python forever, started at import."""
import threading

import pluginhost


def spin():
    while True:
        pass


threading.Thread(target=spin, name="hostile-spinner").start()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
