"""on_load() raises MemoryError: the load fails, the host goes on."""
import pluginhost


def on_load():
    raise MemoryError


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
