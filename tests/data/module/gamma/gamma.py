"""Fixture: logs, reports pluginhost.info, hands state over, and ignores greetings."""
import os
import sys

import pluginhost

booms = []
loads = 0


@pluginhost.on("boom")
def on_boom(event):
    booms.append(event.sender)


@pluginhost.export
def boom_senders():
    return booms


def on_load():
    global loads
    previous = pluginhost.info.previous_state
    loads = previous["loads"] + 1 if previous else 1


def on_unload():
    return {"loads": loads, "note": "handed over"}


@pluginhost.export
def previous_state():
    return pluginhost.info.previous_state


@pluginhost.export
def log_all():
    pluginhost.log.debug("a debug line")
    pluginhost.log.info("an info line")
    pluginhost.log.warning("a warning line")
    pluginhost.log.error("an error line")
    pluginhost.log.critical("a critical line")
    print("printed in", end="")
    print(" two writes")
    sys.stderr.write("to stderr\n")


@pluginhost.export
def info():
    info = pluginhost.info
    return {
        "id": info.id,
        "version": info.version,
        "directory": info.directory,
        "data_dir": info.data_dir,
        "interpreter_id": info.interpreter_id,
        "gil": info.gil,
    }


@pluginhost.export
def write_data(name, text):
    path = os.path.join(pluginhost.info.data_dir, name)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return path
