"""Emits a million events in a loop (the canary is subscribed)."""
import pluginhost


@pluginhost.export
def flood():
    for number in range(1_000_000):
        pluginhost.emit("hostile.flood", number)
    return "flooded"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
