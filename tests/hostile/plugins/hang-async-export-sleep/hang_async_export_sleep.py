"""An async export that blocks the plugin's asyncio loop in time.sleep()."""
import time

import pluginhost


@pluginhost.export
async def nap():
    time.sleep(30)
    return "rested"


@pluginhost.export
async def alive_async():
    """Makes the plugin's loop (importing asyncio) before the calls that misuse it."""
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
