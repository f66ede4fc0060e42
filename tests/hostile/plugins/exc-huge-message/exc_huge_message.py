"""An exception whose message is 50 MB: error texts must stay bounded."""
import pluginhost


@pluginhost.export
def raise_huge():
    raise ValueError("x" * 50_000_000)


@pluginhost.export
def raise_huge_key():
    raise KeyError("k" * 50_000_000)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
