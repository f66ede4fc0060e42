"""Tries the forbidden from a thread of its own: the permission hook covers every thread."""
import socket
import subprocess
import threading

import pluginhost


def attempt(action):
    outcome = []

    def run():
        try:
            action()
            outcome.append("allowed")
        except BaseException as error:
            outcome.append(type(error).__name__)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return outcome[0]


@pluginhost.export
def subprocess_in_thread():
    return attempt(lambda: subprocess.run(["true"]))


@pluginhost.export
def network_in_thread():
    return attempt(lambda: socket.getaddrinfo("localhost", 80))


@pluginhost.export
def read_in_thread():
    return attempt(lambda: open("/etc/passwd").close())


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
