"""Fixture: async exports and handlers, run on the SDK's asyncio loop."""
import asyncio
import threading

import pluginhost

plugin_thread = threading.get_ident()  # the import runs on the plugin's own thread
steps = []  # what the coroutines did, in order
events = []
cancelled = []  # calls that saw asyncio.CancelledError


@pluginhost.export
async def add(a, b):
    await asyncio.sleep(0)
    return a + b


@pluginhost.export
async def on_plugin_thread():
    return threading.get_ident() == plugin_thread and asyncio.get_running_loop() is asyncio.get_event_loop()


@pluginhost.export
async def delayed(name, seconds):
    steps.append(f"start {name}")
    await asyncio.sleep(seconds)
    steps.append(f"end {name}")
    return name


@pluginhost.export
async def forever(name):
    steps.append(f"start {name}")
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        cancelled.append(name)
        raise


@pluginhost.export
async def fails(message):
    await asyncio.sleep(0.001)
    raise ValueError(message)


@pluginhost.on("tick")
async def on_tick(event):
    await asyncio.sleep(0.01)
    events.append(event.payload)


@pluginhost.on("tick")
async def on_tick_raises(event):
    await asyncio.sleep(0)
    raise RuntimeError(f"handler saw {event.payload}")


@pluginhost.export
def history():
    return {"steps": steps, "events": events, "cancelled": cancelled}


@pluginhost.export
def pending_tasks():
    return sorted(task.get_coro().__name__ for task in asyncio.all_tasks(asyncio.get_event_loop()))


@pluginhost.export
def clear():
    steps.clear()
    events.clear()
    cancelled.clear()


@pluginhost.export
def sync_ping(value):
    return ["pong", value]


@pluginhost.export
async def returns_object():
    await asyncio.sleep(0)
    return {"answer": object()}


@pluginhost.export
async def blocks_in_c(seconds):
    await asyncio.sleep(0)
    import time
    time.sleep(seconds)  # holds the loop: nothing can interrupt it
    return "woke up"


@pluginhost.export
async def spins(seconds):
    import time
    await asyncio.sleep(0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # pure Python: the host's interrupt lands here
        pass
    return "spun to the end"


@pluginhost.export
async def waits_behind_spinner(seconds):
    steps.append("waiting")
    await asyncio.sleep(seconds)
    return "waited"
