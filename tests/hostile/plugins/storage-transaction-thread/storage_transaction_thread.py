"""A thread opens a transaction, writes, and sleeps in C with it open."""
import threading
import time

import pluginhost


holding = threading.Event()


def hold():
    with pluginhost.storage.transaction():
        pluginhost.storage["held"] = 1
        holding.set()
        time.sleep(30)


@pluginhost.export
def start():
    threading.Thread(target=hold, name="hostile-holder").start()
    holding.wait()
    return "holding"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
