"""A thread opens a transaction, writes, and sleeps in C with it open."""
import threading
import time

import pluginhost


def hold():
    with pluginhost.storage.transaction():
        pluginhost.storage["held"] = 1
        time.sleep(30)


@pluginhost.export
def start():
    thread = threading.Thread(target=hold, name="hostile-holder")
    thread.start()
    while "held" not in pluginhost.storage:
        time.sleep(0.01)
    return "holding"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
