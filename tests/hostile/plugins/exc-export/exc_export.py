"""Exports that raise every kind of BaseException; the plugin must keep answering after each."""
import asyncio

import pluginhost


class HostileBaseException(BaseException):
    """Neither an Exception nor one of Python's own: `except Exception` lets it through."""


@pluginhost.export
def raise_systemexit():
    raise SystemExit(0)


@pluginhost.export
def raise_keyboardinterrupt():
    raise KeyboardInterrupt


@pluginhost.export
def raise_generatorexit():
    raise GeneratorExit


@pluginhost.export
def raise_cancelled():
    raise pluginhost.Cancelled("raised by the plugin itself")


@pluginhost.export
def raise_asyncio_cancelled():
    raise asyncio.CancelledError()


@pluginhost.export
def raise_memoryerror():
    return b"x" * (1 << 62)


@pluginhost.export
def raise_stopiteration():
    raise StopIteration


@pluginhost.export
def raise_custom_base():
    raise HostileBaseException("a BaseException of the plugin's own")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
