"""Calls the canary a hundred thousand times in a row."""
import pluginhost

CANARY = "org.pluginhost.hostile.canary"


@pluginhost.export
def hammer():
    for _ in range(100_000):
        pluginhost.call(CANARY, "ping")
    return "hammered"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
