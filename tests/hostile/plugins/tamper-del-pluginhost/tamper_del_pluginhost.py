"""Removes pluginhost from sys.modules, then imports it again."""
import sys

import pluginhost

del sys.modules["pluginhost"]


@pluginhost.export
def reimport():
    import pluginhost as again

    again.storage["reimported"] = 1
    return again.info.id


@pluginhost.export
def emit_with_old_module():
    pluginhost.emit("hostile.old-module", None)
    return "emitted"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
