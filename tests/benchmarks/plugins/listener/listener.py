"""Benchmark fixture: answers every "ping" event with an "ack" event."""
import pluginhost


@pluginhost.on("ping")
def on_ping(event):
    pluginhost.emit("ack")
