"""An event handler that loops in Python forever."""
import pluginhost


@pluginhost.on("hostile.spin")
def spin(event):
    while True:
        pass


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
