"""If this ever loads, its data_dir is not its own: it leaves a mark there."""
import os

import pluginhost


def on_load():
    with open(os.path.join(pluginhost.info.data_dir, "hostile-was-here"), "w") as mark:
        mark.write("escaped")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
