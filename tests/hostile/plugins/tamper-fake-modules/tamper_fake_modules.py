"""Replaces asyncio, traceback, inspect, threading and linecache in sys.modules."""
import sys
import types

import pluginhost


@pluginhost.export
def tamper():
    sys.modules["asyncio"] = types.ModuleType("asyncio")
    sys.modules["traceback"] = None
    sys.modules["linecache"] = 42
    sys.modules["inspect"] = types.ModuleType("inspect")
    sys.modules["threading"] = None
    return "tampered"


@pluginhost.export
def raise_value():
    raise ValueError("after tampering")


@pluginhost.export
async def alive_async():
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
