"""Fixture: a plugin that loads at once, beside the ones that do not."""
import pluginhost


@pluginhost.export
def ping(value):
    return ["pong", value]
