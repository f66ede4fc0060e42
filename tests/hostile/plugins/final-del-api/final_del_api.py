"""Keeps an instance of every pluginhost type past the end of the interpreter and uses the API from __del__."""
import asyncio

import pluginhost
from pluginhost import storage

CANARY = "org.pluginhost.hostile.canary"
kept = {
    "module": pluginhost,
    "info": pluginhost.info,
    "log": pluginhost.log,
    "storage": storage,
    "buffer": pluginhost.Buffer(b"hostile"),
    "transaction": storage.transaction(),
}


class UsesHostAtTeardown:
    def __del__(self):
        actions = [
            lambda: storage.__setitem__("teardown", 1),
            lambda: list(storage.items()),
            lambda: pluginhost.log.warning("__del__ at teardown"),
            lambda: pluginhost.emit("hostile.teardown", None),
            lambda: pluginhost.call(CANARY, "ping", timeout=1.0),
            lambda: pluginhost.info.data_dir,
            lambda: len(kept["buffer"]),
            lambda: kept["transaction"].__enter__(),
            lambda: str(kept.get("event")),
        ]
        for action in actions:
            try:
                action()
            except BaseException:
                pass


# In a cycle: freed by the interpreter's last collection, not by reference counting.
cycle = UsesHostAtTeardown()
cycle.self = cycle
cycle.kept = kept
plain = UsesHostAtTeardown()


@pluginhost.on("hostile.poke")
def keep_event(event):
    kept["event"] = event
    kept["payload"] = event.payload
    kept["sender"] = event.sender


@pluginhost.export
async def keep_loop():
    loop = asyncio.get_running_loop()
    kept["loop"] = loop
    kept["future"] = loop.create_future()
    kept["task"] = loop.create_task(asyncio.sleep(3600))
    kept["handle"] = loop.call_later(3600, print, "never")
    return "kept"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
