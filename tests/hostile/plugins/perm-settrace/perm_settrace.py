"""Installs trace and profile functions without the native permission."""
import sys
import threading

import pluginhost


def tracer(frame, event, argument):
    return tracer


@pluginhost.export
def settrace():
    sys.settrace(tracer)
    return "tracing"


@pluginhost.export
def setprofile():
    sys.setprofile(tracer)
    return "profiling"


@pluginhost.export
def settrace_all_threads():
    # CPython reports a refusal per thread as unraisable and returns: what counts is
    # whether the trace function got installed.
    threading.settrace_all_threads(tracer)
    return "tracing everyone" if sys.gettrace() is tracer else "refused"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
