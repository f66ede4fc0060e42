"""Coroutines never awaited, futures whose exception nobody reads, a coroutine as a result."""
import asyncio

import pluginhost


@pluginhost.export
def drop():
    asyncio.sleep(1)
    return "dropped"


@pluginhost.export
def return_coroutine():
    return asyncio.sleep(1)


@pluginhost.export
def drop_failed_future():
    future = asyncio.get_event_loop().create_future()
    future.set_exception(ValueError("never retrieved"))
    return "dropped"


@pluginhost.export
async def alive_async():
    await asyncio.sleep(0)
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
