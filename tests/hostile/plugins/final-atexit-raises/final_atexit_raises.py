"""atexit handlers that raise, SystemExit among them."""
import atexit

import pluginhost


def raise_error(error):
    raise error


atexit.register(raise_error, ValueError("from atexit"))
atexit.register(raise_error, SystemExit(5))
atexit.register(raise_error, KeyboardInterrupt())


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
