"""Fixture: what a plugin sees of its process: signals, sys.executable, sys.stdout/stderr."""
import io
import logging
import os
import socket
import sys

import pluginhost


def _outcome(write):
    """The name of the exception write() raised, or "no error"."""
    try:
        write()
    except Exception as error:
        return type(error).__name__
    return "no error"


@pluginhost.export
def write_to_closed_pipe():
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return _outcome(lambda: os.write(writer, b"nobody reads this"))
    finally:
        os.close(writer)


@pluginhost.export
def send_to_closed_socket():
    mine, peer = socket.socketpair()
    peer.close()
    with mine:
        return _outcome(lambda: mine.sendall(b"nobody reads this"))


@pluginhost.export
def executable():
    return {"executable": sys.executable, "version": sys.version}


@pluginhost.export
def stream_properties(name):
    stream = getattr(sys, name)
    try:
        stream.fileno()
        fileno = "no error"
    except io.UnsupportedOperation:
        fileno = "UnsupportedOperation"
    return {
        "text_file": isinstance(stream, io.TextIOBase),
        "encoding": stream.encoding,
        "errors": stream.errors,
        "newlines": stream.newlines,
        "line_buffering": stream.line_buffering,
        "closed": stream.closed,
        "name": stream.name,
        "mode": stream.mode,
        "isatty": stream.isatty(),
        "writable": stream.writable(),
        "readable": stream.readable(),
        "seekable": stream.seekable(),
        "fileno": fileno,
        "buffer_is_binary": isinstance(stream.buffer, io.RawIOBase),
        "original": getattr(sys, f"__{name}__") is stream,
    }


@pluginhost.export
def write_lines(name, lines):
    getattr(sys, name).writelines(lines)


@pluginhost.export
def write_bytes(name, data):
    return getattr(sys, name).buffer.write(data)


@pluginhost.export
def print_to(name, words, end):
    print(*words, file=getattr(sys, name), end=end)


@pluginhost.export
def print_surrogate(name):
    print("lone \udc80", file=getattr(sys, name))


@pluginhost.export
def flush(name):
    getattr(sys, name).flush()


@pluginhost.export
def log_through_handler(message):
    logger = logging.getLogger("environment.handler")
    logger.propagate = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        logger.error(message)
    finally:
        logger.removeHandler(handler)


@pluginhost.export
def reconfigure(name, settings):
    stream = getattr(sys, name)
    stream.reconfigure(**settings)
    return {"errors": stream.errors, "line_buffering": stream.line_buffering, "write_through": stream.write_through}
