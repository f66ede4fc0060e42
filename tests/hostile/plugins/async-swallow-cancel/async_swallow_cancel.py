"""An async export that swallows every asyncio.CancelledError."""
import asyncio

import pluginhost


@pluginhost.export
async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass


@pluginhost.export
async def alive_async():
    await asyncio.sleep(0)
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
