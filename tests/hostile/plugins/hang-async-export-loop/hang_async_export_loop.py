"""An async export that spins in Python inside the plugin's asyncio loop."""
import pluginhost


@pluginhost.export
async def spin():
    count = 0
    while True:
        count += 1


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
