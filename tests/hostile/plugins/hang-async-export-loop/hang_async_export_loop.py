"""An async export that spins in Python inside the plugin's asyncio loop."""
import pluginhost


@pluginhost.export
async def spin():
    count = 0
    while True:
        count += 1


@pluginhost.export
async def alive_async():
    """Makes the plugin's loop (importing asyncio) before the calls that misuse it."""
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
