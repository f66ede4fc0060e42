"""Breaks __import__, print and the builtins module the host may rely on."""
import builtins
import sys

import pluginhost


def refuse(*arguments, **keywords):
    raise ImportError("hostile: imports are off")


@pluginhost.export
def tamper():
    builtins.__import__ = refuse
    builtins.print = None
    builtins.repr = None
    builtins.str = None
    sys.modules["builtins"] = None
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
