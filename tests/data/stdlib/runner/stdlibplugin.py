"""Fixture: a plugin that runs tests of CPython's own test suite (tests/stdlibtest.cpp)."""
import pluginhost

import stdlibrunner


@pluginhost.export
def run(names):
    return stdlibrunner.run(names)
