"""The twin: same id as the folder it sits in."""
import pluginhost


@pluginhost.export
def whoami():
    return "the twin"
