"""An export whose __signature__ never returns: describing the exports must not hang the host."""
import pluginhost


class Exported:
    def __call__(self):
        return "called"

    @property
    def __signature__(self):
        while True:
            pass


pluginhost.export(Exported(), name="weird")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
