"""on_load() loops in Python forever."""
import pluginhost


def on_load():
    while True:
        pass


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
