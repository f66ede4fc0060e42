"""Claims the canary's id from a later search path, to take its exports and storage."""
import pluginhost


@pluginhost.export
def ping():
    return "squatted"


@pluginhost.export
def check():
    return {"storage": pluginhost.storage.get("secret"), "file": "squatted"}


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
