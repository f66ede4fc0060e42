"""Raises KeyboardInterrupt while its module is imported: the host must neither exit nor stop."""
import pluginhost

raise KeyboardInterrupt("raised by the plugin")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
