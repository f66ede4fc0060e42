"""Busy work for the supervision tests: Python loops, C sleeps, ordered calls, a re-entrant peek."""
import time

import pluginhost

_log = []
_state = {"phase": "idle", "cancelled": 0}


@pluginhost.export
def add(a, b):
    return a + b


def _turn_until(end):
    turns = 0
    while time.monotonic() < end:
        turns += 1
    return turns


@pluginhost.export
def spin(seconds):
    """Runs Python for `seconds` (or forever when None)."""
    _state["phase"] = "spinning"
    try:
        # The loop is a function of its own: CPython 3.13.0 skips the except and finally blocks of
        # the frame whose loop is interrupted on its backward jump (by a signal or a pending call);
        # the frames that called it unwind as they should.
        return _turn_until(float("inf") if seconds is None else time.monotonic() + seconds)
    except BaseException as error:
        _state["last_error"] = repr(error)
        if isinstance(error, pluginhost.Cancelled):
            _state["cancelled"] += 1
        raise
    finally:
        _state["phase"] = "idle"


@pluginhost.export
def sleep_in_c(seconds):
    time.sleep(seconds)
    return "slept"


@pluginhost.export
def record(value):
    _log.append(value)
    return len(_log)


@pluginhost.export
def recorded():
    return list(_log)


@pluginhost.export(reentrant=True)
def peek():
    """Answers while another call is busy: what the plugin is doing."""
    return [_state["phase"], list(_log)]


@pluginhost.export
def cancellations():
    return _state["cancelled"]


@pluginhost.export
def last_error():
    return _state.get("last_error")
