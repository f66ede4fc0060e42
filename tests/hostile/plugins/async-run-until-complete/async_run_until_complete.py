"""run_until_complete() and asyncio.run() inside exports, sync and async."""
import asyncio

import pluginhost


async def answer():
    await asyncio.sleep(0)
    return 42


@pluginhost.export
async def nested_run_until_complete():
    coroutine = answer()
    try:
        return asyncio.get_running_loop().run_until_complete(coroutine)
    finally:
        coroutine.close()


@pluginhost.export
async def nested_asyncio_run():
    coroutine = answer()
    try:
        return asyncio.run(coroutine)
    finally:
        coroutine.close()


@pluginhost.export
def sync_run_until_complete():
    return asyncio.get_event_loop().run_until_complete(answer())


@pluginhost.export
def sync_asyncio_run():
    return asyncio.run(answer())


@pluginhost.export
async def alive_async():
    await asyncio.sleep(0)
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
