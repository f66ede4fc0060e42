"""Stores a value just over 16 MiB."""
import pluginhost


@pluginhost.export
def huge_value():
    pluginhost.storage["v"] = b"v" * (16 * 1024 * 1024 + 1)
    return "stored"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
