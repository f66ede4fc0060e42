"""Values nested 100,000 deep: returned, emitted, stored."""
import pluginhost


def nested_lists(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def nested_dicts(depth):
    value = {}
    for _ in range(depth):
        value = {"k": value}
    return value


@pluginhost.export
def deep_list():
    return nested_lists(100_000)


@pluginhost.export
def deep_dict():
    return nested_dicts(100_000)


@pluginhost.export
def deep_tuple():
    value = ()
    for _ in range(100_000):
        value = (value,)
    return value


@pluginhost.export
def deep_emit():
    pluginhost.emit("hostile.bomb", nested_lists(100_000))
    return "emitted"


@pluginhost.export
def deep_store():
    pluginhost.storage["deep"] = nested_dicts(100_000)
    return "stored"


@pluginhost.export
def at_the_limit():
    return nested_lists(190)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
