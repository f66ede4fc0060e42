"""A thread that catches pluginhost.Cancelled and goes on spinning."""
import threading

import pluginhost


def spin():
    while True:
        pass


def stubborn():
    while True:
        try:
            spin()
        except BaseException:
            pass


threading.Thread(target=stubborn, name="hostile-stubborn").start()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
