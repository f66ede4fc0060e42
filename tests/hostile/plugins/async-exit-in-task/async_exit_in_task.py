"""SystemExit and KeyboardInterrupt raised inside tasks: asyncio lets those out of the loop."""
import asyncio

import pluginhost


@pluginhost.on("hostile.async-exit")
async def exit_handler(event):
    raise SystemExit(4)


@pluginhost.on("hostile.async-interrupt")
async def interrupt_handler(event):
    raise KeyboardInterrupt


@pluginhost.export
async def exit_export():
    raise SystemExit(5)


@pluginhost.export
async def interrupt_export():
    await asyncio.sleep(0)
    raise KeyboardInterrupt


@pluginhost.export
async def alive_async():
    await asyncio.sleep(0)
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
