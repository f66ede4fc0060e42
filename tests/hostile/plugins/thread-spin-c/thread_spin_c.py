"""A thread that spins inside one C call and so never lets go of the plugin's GIL."""
import itertools
import threading

import pluginhost


@pluginhost.export
def start():
    threading.Thread(target=sum, args=(itertools.repeat(1, 10**13),), name="hostile-c-spinner").start()
    return "started"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
