"""Results of 200 MB (a str, bytes), a list of two million items, a 64 MiB event payload."""
import pluginhost

SIZE = 200 * 1024 * 1024


@pluginhost.export
def huge_str():
    return "x" * SIZE


@pluginhost.export
def huge_bytes():
    return b"x" * SIZE


@pluginhost.export
def long_list():
    return list(range(2_000_000))


@pluginhost.export
def huge_emit():
    pluginhost.emit("hostile.bomb", b"x" * (64 * 1024 * 1024))
    return "emitted"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
