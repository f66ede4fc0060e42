"""Exceptions that cannot be printed: __str__/__repr__ raise or never return; a __context__ cycle."""
import pluginhost


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("__str__ of the exception raised")

    def __repr__(self):
        raise RuntimeError("__repr__ of the exception raised")


class Endless(Exception):
    def __str__(self):
        while True:
            pass


@pluginhost.export
def raise_unprintable():
    raise Unprintable("hidden")


@pluginhost.export
def raise_endless():
    raise Endless()


@pluginhost.export
def raise_cycle():
    first = ValueError("first")
    second = KeyError("second")
    first.__context__ = second
    second.__context__ = first
    raise first


@pluginhost.export
def raise_nul_type():
    raise type("Hostile\x00Type", (Exception,), {})("a type name with a NUL")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
