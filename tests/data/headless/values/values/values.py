"""A fixture plugin for headlesstest: values plain JSON cannot hold, and a check of what arrived."""

import math

import pluginhost


def special():
    """Returns floats JSON has no number for, bytes that are not UTF-8, and dicts that look tagged."""
    return {
        "nan": math.nan,
        "inf": math.inf,
        "-inf": -math.inf,
        "bytes": b"\x00\xff\xfe caf\xc3\xa9",
        "empty bytes": b"",
        "buffer": pluginhost.Buffer(b"\x80\x81"),
        "tagged-looking": {"$bytes": "not bytes"},
        "two keys": {"$float": "nan", "other": 1},
        "float": 2.5,
    }


def echo(*args):
    """Returns its arguments as a list."""
    return list(args)


def describe(*args):
    """Says what each argument is in Python terms (type and repr), so that a test sees what arrived."""
    return [f"{type(value).__name__} {value!r}" for value in args]
