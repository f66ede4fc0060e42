"""Fixture: on_load/on_unload hooks."""
loaded = False


def on_load():
    global loaded
    loaded = True


def is_loaded():
    return loaded


def on_unload():
    return {"saved": "state", "count": 3}
