"""Writes two hundred thousand keys, in one transaction and one by one."""
import pluginhost


@pluginhost.export
def in_one_transaction():
    with pluginhost.storage.transaction():
        for number in range(200_000):
            pluginhost.storage["key-%d" % number] = number
    return len(pluginhost.storage)


@pluginhost.export
def one_by_one():
    for number in range(200_000):
        pluginhost.storage["single-%d" % number] = number
    return len(pluginhost.storage)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
