"""Benchmark fixture: a small plugin that hands its state over to the next instance on reload."""
import pluginhost

reloads = 0
settings = {}


def on_load():
    global reloads, settings
    previous = pluginhost.info.previous_state
    if previous:
        reloads = previous["reloads"] + 1
        settings = previous["settings"]
    else:
        settings = {"theme": "dark", "recent": ["notes.txt", "todo.txt"], "window": [800, 600]}


def on_unload():
    return {"reloads": reloads, "settings": settings}


@pluginhost.export
def reload_count():
    return reloads
