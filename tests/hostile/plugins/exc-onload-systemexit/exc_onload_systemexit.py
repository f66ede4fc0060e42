"""on_load() raises SystemExit: the load fails, the host goes on."""
import pluginhost


def on_load():
    raise SystemExit(0)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
