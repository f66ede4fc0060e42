"""Adds an audit hook of its own without the native permission."""
import sys

import pluginhost


@pluginhost.export
def add_hook():
    sys.addaudithook(lambda event, arguments: None)
    return "added"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
