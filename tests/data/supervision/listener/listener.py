"""Counts the events it gets, slowly, so that a flood piles up in its mailbox."""
import time

import pluginhost

_seen = {}


@pluginhost.on("flood")
def _on_flood(event):
    _seen[event.sender] = _seen.get(event.sender, 0) + 1
    time.sleep(0.0005)


@pluginhost.on("hello")
def _on_hello(event):
    _seen["hello:" + event.sender] = _seen.get("hello:" + event.sender, 0) + 1


@pluginhost.export
def seen():
    return dict(_seen)


@pluginhost.export
def add(a, b):
    return a + b
