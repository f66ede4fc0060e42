"""on_unload() loops in Python forever."""
import pluginhost


def on_unload():
    while True:
        pass


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
