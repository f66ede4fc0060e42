"""A fixture plugin for headlesstest: fails to load with an exception far too long to print."""


def on_load():
    raise RuntimeError("start of the load error " + "x" * 50_000_000 + " end of the load error")


def never_called():
    return "unreachable"
