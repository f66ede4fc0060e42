"""Fixture: on_unload() takes longer than the load deadline; a reload must still work."""
import pluginhost

loads = 0


def on_load():
    global loads
    loads = (pluginhost.info.previous_state or 0) + 1


def on_unload():
    pluginhost.sleep(0.6)
    return loads


@pluginhost.export
def load_count():
    return loads
