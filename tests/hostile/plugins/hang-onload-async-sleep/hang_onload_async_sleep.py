"""An async on_load() that blocks its loop in time.sleep()."""
import time

import pluginhost


async def on_load():
    time.sleep(30)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
