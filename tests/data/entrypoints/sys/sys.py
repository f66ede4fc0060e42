"""Fixture: the plugin's own module, named like one of the standard library; the host must
refuse the plugin rather than hand it that other module."""
import pluginhost


@pluginhost.export
def ping():
    return "the plugin's own module"
