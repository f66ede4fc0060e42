"""Fixture: on_load() swallows pluginhost.Cancelled, then sits in C where nothing reaches it."""
import time

import pluginhost


def on_load():
    try:
        while True:
            pass
    except pluginhost.Cancelled:
        time.sleep(3)
