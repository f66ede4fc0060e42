"""An export that catches pluginhost.Cancelled and goes on spinning."""
import pluginhost


def spin():
    while True:
        pass


@pluginhost.export
def stubborn():
    while True:
        try:
            spin()
        except BaseException:
            pass


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
