"""Writes outside its data_dir without the filesystem permission."""
import os

import pluginhost


@pluginhost.export
def write_beside_data_dir():
    with open(os.path.join(pluginhost.info.data_dir, "..", "escape.txt"), "w") as escape:
        escape.write("escaped")
    return "written"


@pluginhost.export
def write_own_folder():
    with open(os.path.join(pluginhost.info.directory, "planted.py"), "w") as planted:
        planted.write("print('planted')")
    return "written"


@pluginhost.export
def write_data_dir():
    with open(os.path.join(pluginhost.info.data_dir, "mine.txt"), "w") as mine:
        mine.write("allowed")
    return "written"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
