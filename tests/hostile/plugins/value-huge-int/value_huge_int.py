"""Integers beyond 64 bits, one of them with 100,000 digits (beyond int-to-str's own limit)."""
import pluginhost


@pluginhost.export
def huge():
    return 10**100_000


@pluginhost.export
def just_too_big():
    return {"n": [2**64]}


@pluginhost.export
def emit_huge():
    pluginhost.emit("hostile.bomb", -(10**100_000))


@pluginhost.export
def store_huge():
    pluginhost.storage["n"] = 2**1000


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
