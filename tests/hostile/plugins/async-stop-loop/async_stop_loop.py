"""Stops the plugin's running loop from inside a task."""
import asyncio

import pluginhost


@pluginhost.export
async def stop_loop():
    asyncio.get_running_loop().stop()
    await asyncio.sleep(0.01)
    return "stopped"


@pluginhost.export
async def alive_async():
    await asyncio.sleep(0)
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
