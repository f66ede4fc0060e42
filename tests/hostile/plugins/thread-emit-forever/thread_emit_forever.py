"""A thread that emits events to the canary as fast as it can, forever, ignoring every error."""
import threading
import time

import pluginhost


def emit_once(number):
    pluginhost.emit("hostile.flood", number)


def flood():
    number = 0
    while True:
        try:
            emit_once(number)
            number += 1
        except BaseException:
            try:
                time.sleep(0.001)
            except BaseException:
                pass


threading.Thread(target=flood, name="hostile-flooder").start()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
