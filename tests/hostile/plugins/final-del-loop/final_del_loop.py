"""An object whose __del__ loops forever, kept until the interpreter ends."""
import pluginhost


class Endless:
    def __del__(self):
        while True:
            pass


keep = Endless()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
