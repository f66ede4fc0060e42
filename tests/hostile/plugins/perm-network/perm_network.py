"""Opens network connections without the network permission."""
import socket

import pluginhost


@pluginhost.export
def connect():
    with socket.create_connection(("127.0.0.1", 9), timeout=1):
        return "connected"


@pluginhost.export
def connect_raw():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        sock.connect(("127.0.0.1", 9))


@pluginhost.export
def bind():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pluginhost.export
def resolve():
    return len(socket.getaddrinfo("localhost", 80))


@pluginhost.export
def sendto():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return sock.sendto(b"x", ("127.0.0.1", 9))


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
