"""An object whose __del__ sleeps in C, kept until the interpreter ends."""
import time

import pluginhost


class Sleeper:
    def __del__(self):
        time.sleep(30)


keep = Sleeper()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
