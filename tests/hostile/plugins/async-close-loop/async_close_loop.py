"""Closes the plugin's own asyncio loop from a plain export."""
import asyncio

import pluginhost


@pluginhost.export
def close_loop():
    asyncio.get_event_loop().close()
    return "closed"


@pluginhost.export
async def alive_async():
    await asyncio.sleep(0)
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
