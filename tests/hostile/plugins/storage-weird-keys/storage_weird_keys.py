"""Keys that are empty, hold NUL, surrogates, path separators, or SQL."""
import pluginhost

KEYS = ["", "\x00", "a\x00b", "\ud800", "../../etc/passwd", "'; DROP TABLE storage; --", "%", "_"]


@pluginhost.export
def store_all():
    outcome = []
    for key in KEYS:
        try:
            pluginhost.storage[key] = key
            outcome.append(pluginhost.storage[key] == key)
        except Exception as error:
            outcome.append(type(error).__name__)
    return outcome


@pluginhost.export
def count():
    return len(pluginhost.storage)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
