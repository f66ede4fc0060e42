"""Adds an audit hook of its own without the native permission."""
import sys

import pluginhost


@pluginhost.export
def add_hook():
    # CPython drops a hook that an existing hook refused, without raising: what counts is
    # whether the new hook sees events.
    seen = []
    sys.addaudithook(lambda event, arguments: seen.append(event))
    compile("1", "<probe>", "eval")  # raises the "compile" audit event
    return "added" if seen else "refused"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
