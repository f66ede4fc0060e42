"""Floods everyone with events."""
import time

import pluginhost


@pluginhost.export
def flood(count):
    for i in range(count):
        pluginhost.emit("flood", i)
    return count


@pluginhost.export
def flood_for(seconds):
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        pluginhost.emit("flood", sent)
        sent += 1
    return sent


@pluginhost.export
def hello():
    pluginhost.emit("hello", None)
