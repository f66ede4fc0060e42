"""Reads files outside its folder and data_dir without the filesystem permission."""
import os

import pluginhost


@pluginhost.export
def read_passwd():
    with open("/etc/passwd") as passwd:
        return passwd.read()


@pluginhost.export
def os_open_passwd():
    descriptor = os.open("/etc/passwd", os.O_RDONLY)
    try:
        return os.read(descriptor, 100).decode()
    finally:
        os.close(descriptor)


@pluginhost.export
def list_root():
    return os.listdir("/")


@pluginhost.export
def read_own_file():
    with open(os.path.join(pluginhost.info.directory, "metadata.json")) as own:
        return len(own.read()) > 0


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
