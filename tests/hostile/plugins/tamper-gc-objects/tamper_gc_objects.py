"""Walks gc.get_objects() and pokes at every object of the pluginhost module it finds."""
import copy
import gc
import pickle
import weakref

import pluginhost


def poke(value):
    attempts = [
        lambda: copy.copy(value),
        lambda: copy.deepcopy(value),
        lambda: pickle.dumps(value),
        lambda: weakref.ref(value),
        lambda: type(value)(),
        lambda: object.__new__(type(value)),
        lambda: type(value).__new__(type(value)),
        lambda: value.__reduce_ex__(2),
        lambda: setattr(value, "__class__", object),
        lambda: gc.get_referents(value),
        lambda: gc.get_referrers(value),
    ]
    outcome = 0
    for attempt in attempts:
        try:
            attempt()
            outcome += 1
        except Exception:
            pass
    return outcome


@pluginhost.export
def reach_through():
    found = 0
    for value in gc.get_objects():
        if getattr(type(value), "__module__", "") == "pluginhost" or value is pluginhost:
            found += 1
            poke(value)
    for value in gc.get_referents(pluginhost):
        poke(value)
    return found


@pluginhost.export
def freeze():
    gc.disable()
    gc.freeze()
    return gc.get_freeze_count() > 0


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
