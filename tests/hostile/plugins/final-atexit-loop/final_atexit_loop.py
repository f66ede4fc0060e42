"""An atexit handler that loops forever (it runs when the interpreter ends)."""
import atexit

import pluginhost


@atexit.register
def endless():
    while True:
        pass


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
