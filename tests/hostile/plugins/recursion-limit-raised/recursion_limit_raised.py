"""Raises the recursion limit to 300,000, then recurses in Python and through C."""
import json
import pickle
import sys

import pluginhost


def down(depth):
    return down(depth + 1)


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


@pluginhost.export
def recurse_python():
    sys.setrecursionlimit(300_000)
    return down(0)


@pluginhost.export
def recurse_repr():
    sys.setrecursionlimit(300_000)
    return len(repr(nested(200_000)))


@pluginhost.export
def recurse_json():
    sys.setrecursionlimit(300_000)
    return len(json.dumps(nested(200_000)))


@pluginhost.export
def recurse_pickle():
    sys.setrecursionlimit(300_000)
    return len(pickle.dumps(nested(200_000)))


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
