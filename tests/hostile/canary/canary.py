"""The canary of the hostile-plugin suite: a well-behaved plugin loaded beside each hostile one.

The driver calls ping() while the hostile plugin loads, runs, reloads and unloads, and check()
at the end: what a hostile neighbour must never reach (this plugin's storage, its data_dir,
its registry entry) is still as on_load() left it. It subscribes to the events hostile plugins
flood or bomb it with, and only counts them.
"""
import os

import pluginhost
from pluginhost import storage

SECRET = "the canary's own secret"

received = {}


def secret_file():
    return os.path.join(pluginhost.info.data_dir, "secret.txt")


def on_load():
    storage["secret"] = SECRET
    with open(secret_file(), "w") as secret:
        secret.write(SECRET)


@pluginhost.export
def ping():
    """Answers "pong" after a write to storage: one plugin's storage must never stall another's."""
    storage["pings"] = storage.get("pings", 0) + 1
    return "pong"


@pluginhost.export
def check():
    """What a hostile neighbour must not have changed."""
    with open(secret_file()) as secret:
        return {"storage": storage.get("secret"), "file": secret.read()}


@pluginhost.export
def events():
    """How many events of each name arrived."""
    return dict(received)


def count(event):
    received[event.name] = received.get(event.name, 0) + 1


for name in ("hostile.flood", "hostile.bomb", "hostile.teardown", "hostile.after-unload", "hostile.old-module"):
    pluginhost.on(name)(count)
