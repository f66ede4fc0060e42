"""Benchmark fixture: the smallest plugin there is, for load, unload, memory and call costs."""


def noop():
    return None


def echo(x):
    return x
