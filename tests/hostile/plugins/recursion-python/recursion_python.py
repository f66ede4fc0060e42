"""Unbounded recursion in Python, with the default limit."""
import pluginhost


def down(depth):
    return down(depth + 1)


@pluginhost.export
def recurse():
    return down(0)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
