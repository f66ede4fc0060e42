"""A non-daemon thread that sleeps in C, started at import."""
import threading
import time

import pluginhost

threading.Thread(target=time.sleep, args=(30,), name="hostile-sleeper").start()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
