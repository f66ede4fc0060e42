"""Emits a hundred thousand events of 256 KiB each."""
import pluginhost


@pluginhost.export
def flood():
    payload = b"p" * (256 * 1024)
    for _ in range(100_000):
        pluginhost.emit("hostile.flood", payload)
    return "flooded"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
