"""Writes to a pipe and a socket whose other end is closed, on its own thread and on another."""
import os
import socket
import threading

import pluginhost


def write_to_closed_pipe():
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        os.write(write_end, b"x")
        return "written"
    except BrokenPipeError as error:
        return type(error).__name__
    finally:
        os.close(write_end)


@pluginhost.export
def closed_pipe():
    return write_to_closed_pipe()


@pluginhost.export
def closed_pipe_in_thread():
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(write_to_closed_pipe()))
    thread.start()
    thread.join()
    return outcome[0]


@pluginhost.export
def closed_socket():
    first, second = socket.socketpair()
    second.close()
    try:
        first.send(b"x")
        return "sent"
    except BrokenPipeError as error:
        return type(error).__name__
    finally:
        first.close()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
