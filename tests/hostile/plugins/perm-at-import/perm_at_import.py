"""Resolves a host name while being imported, without the network permission."""
import socket

import pluginhost

socket.getaddrinfo("localhost", 80)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
