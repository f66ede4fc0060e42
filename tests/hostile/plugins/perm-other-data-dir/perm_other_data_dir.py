"""Reads the canary's data_dir and lists every plugin's data folder."""
import os

import pluginhost

CANARY = "org.pluginhost.hostile.canary"


def data_location():
    return os.path.dirname(os.path.normpath(pluginhost.info.data_dir))


@pluginhost.export
def read_canary_secret():
    with open(os.path.join(data_location(), CANARY, "secret.txt")) as secret:
        return secret.read()


@pluginhost.export
def overwrite_canary_secret():
    with open(os.path.join(data_location(), CANARY, "secret.txt"), "w") as secret:
        secret.write("overwritten")
    return "overwritten"


@pluginhost.export
def list_data_location():
    return os.listdir(data_location())


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
