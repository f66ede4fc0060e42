"""Opens a storage transaction at import and never closes it (kept in a module global)."""
import pluginhost

pluginhost.storage["before"] = 1
transaction = pluginhost.storage.transaction()
transaction.__enter__()  # opened here, never closed
pluginhost.storage["inside"] = 1


@pluginhost.export
def write():
    pluginhost.storage["more"] = 2
    return "written"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
