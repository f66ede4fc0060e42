"""Writes to sys.__stdout__, the interpreter's own stdout, at import and in an export."""
import sys

import pluginhost

print("hostile text on sys.__stdout__, at import", file=sys.__stdout__, flush=True)


@pluginhost.export
def write_dunder():
    sys.__stdout__.write("]not json[\n")
    sys.__stdout__.flush()
    return "written"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
