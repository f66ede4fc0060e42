"""Raises SystemExit while its module is imported: the host must neither exit nor stop."""
import pluginhost

raise SystemExit(3)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
