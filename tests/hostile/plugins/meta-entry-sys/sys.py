"""The plugin's entry module, named like a module Python has already imported."""
import pluginhost


@pluginhost.export
def whoami():
    return "the plugin's own module"
