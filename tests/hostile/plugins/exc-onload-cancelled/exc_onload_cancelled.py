"""on_load() raises Cancelled: the load fails, the host goes on."""
import pluginhost


def on_load():
    raise pluginhost.Cancelled("raised by on_load() itself")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
