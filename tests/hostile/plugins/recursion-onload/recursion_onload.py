"""on_load() recurses without end."""
import pluginhost


def down(depth):
    return down(depth + 1)


def on_load():
    down(0)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
