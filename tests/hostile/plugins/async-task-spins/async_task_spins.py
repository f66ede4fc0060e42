"""Schedules a task that spins in Python forever inside the plugin's loop."""
import asyncio

import pluginhost


async def spin():
    while True:
        pass


@pluginhost.export
async def start_spinning():
    asyncio.get_running_loop().create_task(spin())
    return "scheduled"


@pluginhost.export
async def alive_async():
    """Makes the plugin's loop (importing asyncio) before the calls that misuse it."""
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
