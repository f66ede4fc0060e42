"""Fixture: a plugin without coroutines; it naps with pluginhost.sleep()."""
import sys
import time

import pluginhost

naps = []  # how each nap ended: [outcome, seconds]
napping = False


@pluginhost.export
def imported_asyncio():
    return "asyncio" in sys.modules


@pluginhost.export
def nap(seconds):
    global napping
    start = time.monotonic()
    napping = True
    try:
        pluginhost.sleep(seconds)
    except pluginhost.Cancelled:
        naps.append(["cancelled", time.monotonic() - start])
        raise
    finally:
        napping = False
    naps.append(["slept", time.monotonic() - start])
    return time.monotonic() - start


@pluginhost.export(reentrant=True)
def is_napping():
    return napping


@pluginhost.export
def history():
    return naps


@pluginhost.export
def ping(value):
    return ["pong", value]
