"""on_load() raises KeyboardInterrupt: the load fails, the host goes on."""
import pluginhost


def on_load():
    raise KeyboardInterrupt


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
