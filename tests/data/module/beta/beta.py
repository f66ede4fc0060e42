"""Fixture: subscribes to events and is called by other plugins."""
import time

import pluginhost

received = []
booms = []


@pluginhost.on("greeting")
def on_greeting(event):
    received.append([event.name, event.payload, event.sender])


@pluginhost.on("ordered")
def on_ordered(event):
    received.append(event.payload)


@pluginhost.on("boom")
def explode(event):
    raise RuntimeError("handler exploded on " + event.name)


@pluginhost.on("boom")
def survive(event):
    booms.append(event.sender)


@pluginhost.export
def received_events():
    return received


@pluginhost.export
def boom_senders():
    return booms


@pluginhost.export
def clear():
    received.clear()
    booms.clear()


@pluginhost.export
def add(a, b):
    return a + b


@pluginhost.export
def fail(message):
    raise ValueError(message)


@pluginhost.export
def call_back(plugin, function, *arguments):
    return pluginhost.call(plugin, function, *arguments)


@pluginhost.export
def slow(seconds):
    pluginhost.emit("sleeping", seconds)
    time.sleep(seconds)
    pluginhost.emit("woke", seconds)
    return "slept"


spinning = False
stop_requested = False


@pluginhost.export
def spin():
    """Busy in Python (not in C) until stop_spinning(): re-entrant exports still get their turn."""
    global spinning, stop_requested
    spinning, stop_requested = True, False
    deadline = time.monotonic() + 20
    while not stop_requested and time.monotonic() < deadline:
        pass
    spinning = False
    return stop_requested


@pluginhost.export(reentrant=True)
def is_spinning():
    return spinning


@pluginhost.export(reentrant=True)
def stop_spinning():
    global stop_requested
    stop_requested = True
