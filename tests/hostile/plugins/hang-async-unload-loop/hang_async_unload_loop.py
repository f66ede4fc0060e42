"""An async on_unload() that spins in Python."""
import pluginhost


async def on_unload():
    while True:
        pass


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
