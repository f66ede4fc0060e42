"""Raises Cancelled while its module is imported: the host must neither exit nor stop."""
import pluginhost

raise pluginhost.Cancelled("raised by the plugin, not by the host")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
