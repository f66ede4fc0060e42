"""Fixture: what a plugin sees of its process."""
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
