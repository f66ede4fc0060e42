"""Fixture for buffertest: reads pluginhost.Buffer objects the host (or the relay) passes in,
tries to write to them, makes new ones and hands them back."""
import operator
import os
import zlib  # not hashlib: on CPython 3.12 before 3.12.4 it breaks the process's exit (gh-119213)

import pluginhost

kept = []
received = []


def describe(buffer):
    view = memoryview(buffer)
    return {
        "type": type(buffer).__name__,
        "address": buffer.address,
        "readonly": view.readonly,
        "size": len(buffer),
        "nbytes": view.nbytes,
        "crc32": zlib.crc32(buffer),
    }


@pluginhost.export
def inspect(buffer):
    return describe(buffer)


@pluginhost.export
def echo(value):
    return value


@pluginhost.export
def keep(buffer):
    """Holds on to the buffer until release(); returns how many are held."""
    kept.append(buffer)
    return len(kept)


@pluginhost.export
def kept_checksums():
    return [zlib.crc32(buffer) for buffer in kept]


@pluginhost.export
def release():
    kept.clear()


@pluginhost.export
def try_to_write(buffer):
    """Every way a plugin might try to change the bytes, and what each one raised."""
    outcomes = {}

    def attempt(name, action):
        try:
            action()
            outcomes[name] = "allowed"
        except Exception as error:
            outcomes[name] = f"{type(error).__name__}: {error}"

    view = memoryview(buffer)
    attempt("view[0] = 1", lambda: operator.setitem(view, 0, 1))
    attempt("view[0:2] = b'xy'", lambda: operator.setitem(view, slice(0, 2), b"xy"))
    attempt("view.cast('B')[0] = 1", lambda: operator.setitem(view.cast("B"), 0, 1))
    attempt("buffer[0] = 1", lambda: operator.setitem(buffer, 0, 1))
    attempt("buffer += b'x'", lambda: operator.iadd(buffer, b"x"))
    attempt("buffer.extend(b'x')", lambda: buffer.extend(b"x"))
    attempt("buffer.x = 1", lambda: setattr(buffer, "x", 1))
    attempt("buffer.address = 0", lambda: setattr(buffer, "address", 0))

    def read_into():
        read, write = os.pipe()
        try:
            os.write(write, b"xyz")
            os.readv(read, [buffer])  # asks for a writable buffer and passes on the error
        finally:
            os.close(read)
            os.close(write)

    attempt("os.readv(fd, [buffer])", read_into)
    copy = bytearray(buffer)  # the way to change the bytes: a copy
    copy[0] = (copy[0] + 1) % 256
    outcomes["unchanged"] = bytes(view[:4]) == bytes(memoryview(buffer)[:4]) and copy[0] != view[0]
    return outcomes


@pluginhost.export
def make(text):
    """A Buffer made in the plugin from the UTF-8 of text."""
    return pluginhost.Buffer(text.encode())


@pluginhost.export
def nested(buffer):
    """The buffer at several places of a nested value."""
    return {"list": [buffer, 1, [buffer]], "tuple": (buffer,), "made": pluginhost.Buffer(b"made here")}


@pluginhost.export
def behaviour():
    """What the type does, as a dict of observations the test compares."""
    Buffer = pluginhost.Buffer
    observed = {}

    def outcome(action):
        try:
            return repr(action())
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    data = Buffer(b"hello world")
    observed["repr"] = repr(data)
    observed["len"] = len(data)
    observed["bool"] = [bool(data), bool(Buffer(b""))]
    observed["bytes"] = bytes(data)
    observed["eq"] = [data == Buffer(b"hello world"), data == b"hello world", b"hello world" == data,
                      data == bytearray(b"hello world"), data == memoryview(b"hello world"),
                      data != b"hello", data == "hello world", data == None]  # noqa: E711
    observed["slice"] = bytes(memoryview(data)[6:])
    observed["slice shares"] = memoryview(data)[6:].obj is data and memoryview(data)[6:].readonly
    observed["same object"] = Buffer(data) is data
    observed["from bytearray"] = bytes(Buffer(bytearray(b"abc")))
    observed["from memoryview"] = bytes(Buffer(memoryview(b"abcdef")[2:4]))
    source = b"abc"
    first, second = Buffer(source), Buffer(source)
    observed["copy at creation"] = first.address != second.address and first == second == source
    observed["from str"] = outcome(lambda: Buffer("text"))
    observed["from int"] = outcome(lambda: Buffer(3))
    observed["no argument"] = outcome(lambda: Buffer())
    observed["keyword"] = outcome(lambda: Buffer(data=b"x"))
    observed["hash"] = outcome(lambda: hash(data))
    observed["order"] = outcome(lambda: data < data)
    observed["subclass"] = outcome(lambda: type("Sub", (Buffer,), {}))
    observed["dict"] = hasattr(data, "__dict__")
    observed["signature"] = Buffer.__text_signature__
    observed["module"] = Buffer.__module__
    observed["zlib"] = zlib.crc32(data) == zlib.crc32(b"hello world")
    observed["find"] = b"xx world".find(memoryview(data)[5:])
    return observed


@pluginhost.on("frame")
def on_frame(event):
    received.append(event.payload["frame"])


@pluginhost.export
def received_addresses():
    return [payload.address for payload in received]
