"""Benchmark fixture: sends a "ping" event to every plugin subscribed to it."""
import pluginhost


@pluginhost.export
def send():
    pluginhost.emit("ping")
