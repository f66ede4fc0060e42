"""Replaces sys.stdout, sys.stderr, sys.excepthook, sys.unraisablehook and threading.excepthook."""
import sys
import threading

import pluginhost


def endless(*arguments):
    while True:
        pass


def raising(*arguments):
    raise RuntimeError("hostile hook")


class Unraisable:
    def __del__(self):
        raise ValueError("unraisable")


@pluginhost.export
def tamper():
    sys.stdout = None
    sys.stderr = 42
    sys.excepthook = endless
    sys.unraisablehook = raising
    threading.excepthook = raising
    return "tampered"


@pluginhost.export
def noisy():
    print("to nowhere")
    return "printed"


@pluginhost.export
def raise_value():
    raise ValueError("after tampering")


@pluginhost.export
def unraisable():
    Unraisable()
    return "dropped"


@pluginhost.export
def thread_raises():
    thread = threading.Thread(target=raising)
    thread.start()
    thread.join()
    return "joined"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
