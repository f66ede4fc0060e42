"""on_load() raises GeneratorExit: the load fails, the host goes on."""
import pluginhost


def on_load():
    raise GeneratorExit


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
