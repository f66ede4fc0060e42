"""on_unload() raises: the plugin is unloaded all the same, and loads again."""
import pluginhost


def on_unload():
    raise SystemExit(7)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
