"""An export that loops in Python forever."""
import pluginhost


@pluginhost.export
def spin():
    count = 0
    while True:
        count += 1


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
