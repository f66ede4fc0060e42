"""A fixture plugin for headlesstest: loads, echoes its arguments and fails on request."""


def echo(*args):
    """Returns its arguments as a list."""
    return list(args)


def fail(message):
    """Raises ValueError(message) one frame down, so that the traceback has two frames."""
    _raise(message)


def _raise(message):
    raise ValueError(message)
