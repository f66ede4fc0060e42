"""A fixture plugin for quarantinetest: unloads slowly, or never, on request.

set_unload() chooses what the next on_unload() does; start_thread() starts a non-daemon
thread of the plugin's own that does not end by itself.
"""

import threading
import time

import pluginhost

_unload = {"mode": "return", "seconds": 0.0}


@pluginhost.export
def set_unload(mode, seconds=0.0):
    """What on_unload() does next: "return", "loop" (Python, forever), "catch" (catches
    pluginhost.Cancelled for `seconds`), "sleep" (time.sleep(seconds), in C)."""
    _unload["mode"] = mode
    _unload["seconds"] = seconds


@pluginhost.export
def start_thread(mode, seconds=0.0):
    """A non-daemon thread: "tick" runs Python (short sleeps) until something stops it,
    "sleep" sleeps `seconds` in C."""

    def tick():
        while True:
            time.sleep(0.01)

    def sleep():
        time.sleep(seconds)

    thread = threading.Thread(target=tick if mode == "tick" else sleep, name="worker-" + mode)
    thread.start()
    return thread.name


@pluginhost.export
def nap(seconds):
    """A call blocked in C for `seconds`."""
    time.sleep(seconds)
    return "rested"


@pluginhost.export
def spin():
    """A call that runs Python forever, until Cancelled."""
    count = 0
    while True:
        count += 1


@pluginhost.export
def ping():
    return ["pong", pluginhost.info.interpreter_id, pluginhost.info.previous_state]


def on_unload():
    mode = _unload["mode"]
    seconds = _unload["seconds"]
    if mode == "loop":
        while True:
            pass
    if mode == "catch":
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                while time.monotonic() < deadline:
                    pass
            except pluginhost.Cancelled:
                pass
        return "caught"
    if mode == "sleep":
        time.sleep(seconds)
        return "slept"
    return {"unloaded": mode}
