"""Finalizers that raise, some in a reference cycle, some BaseExceptions."""
import gc

import pluginhost


class Raiser:
    def __init__(self, error):
        self.error = error

    def __del__(self):
        raise self.error


keep = [Raiser(ValueError("from __del__")), Raiser(KeyboardInterrupt()), Raiser(SystemExit(9))]
cycle = Raiser(RuntimeError("from a cycle"))
cycle.self = cycle


@pluginhost.export
def collect():
    garbage = Raiser(SystemExit(8))
    garbage.self = garbage
    del garbage
    return gc.collect() >= 0


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
