"""An export opens a transaction and returns with it open."""
import pluginhost

kept = []


@pluginhost.export
def open_and_leave():
    transaction = pluginhost.storage.transaction()
    transaction.__enter__()  # opened here, never closed
    pluginhost.storage["inside"] = 1
    kept.append(transaction)
    return "left open"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
