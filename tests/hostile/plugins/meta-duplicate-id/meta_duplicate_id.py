"""Shares its id with the folder beside it (twin/, copied next to it): neither may load."""
import pluginhost


@pluginhost.export
def whoami():
    return "the first folder"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
