"""Writes raw bytes to file descriptor 1, at import and in an export."""
import os

import pluginhost

os.write(1, b"hostile bytes on fd 1, at import\n")


@pluginhost.export
def write_fd1():
    os.write(1, b"{not json\n")
    return "written"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
