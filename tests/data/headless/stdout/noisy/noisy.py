"""A fixture plugin for headlesstest: writes junk to the process's stdout, past sys.stdout."""

import os
import sys


def _junk(where):
    os.write(1, f"junk from os.write(1) in {where}\n".encode())
    sys.__stdout__.write(f"junk from sys.__stdout__ in {where}\n")
    sys.__stdout__.flush()
    # Left in the buffer: written whenever CPython flushes it, at the latest at unload.
    sys.__stdout__.write(f"unflushed junk from sys.__stdout__ in {where}\n")


_junk("import")


def on_load():
    _junk("on_load")


def noisy(value):
    """Returns `value` after writing junk to stdout."""
    _junk("noisy")
    return {"value": value, "written": True}
