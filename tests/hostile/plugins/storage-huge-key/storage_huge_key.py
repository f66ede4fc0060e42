"""Stores under a 64 MiB key."""
import pluginhost


@pluginhost.export
def huge_key():
    pluginhost.storage["k" * (64 * 1024 * 1024)] = 1
    return "stored"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
