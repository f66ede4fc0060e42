"""Benchmark fixture: minimal's functions, exported as plugins are meant to declare them."""
import pluginhost


@pluginhost.export
def noop():
    return None


@pluginhost.export
def echo(x):
    return x
