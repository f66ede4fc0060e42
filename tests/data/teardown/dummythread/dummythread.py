"""Fixture: asks threading about the plugin's own thread, which threading did not start.

threading.current_thread() then makes a _DummyThread for it (and, on CPython 3.13, a
thread-local helper that removes it again when the thread's state is cleared).
"""
import threading

import pluginhost

loaded_on = threading.current_thread().name


@pluginhost.export
def thread_name():
    return threading.current_thread().name
