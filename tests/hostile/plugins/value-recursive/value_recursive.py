"""Containers that contain themselves."""
import pluginhost


def recursive_list():
    value = [1]
    value.append(value)
    return value


def recursive_dict():
    value = {"a": 1}
    value["self"] = value
    return value


@pluginhost.export
def return_list():
    return recursive_list()


@pluginhost.export
def return_dict():
    return recursive_dict()


@pluginhost.export
def return_mutual():
    first, second = [], {}
    first.append(second)
    second["first"] = first
    return first


@pluginhost.export
def emit_recursive():
    pluginhost.emit("hostile.bomb", recursive_list())


@pluginhost.export
def store_recursive():
    pluginhost.storage["self"] = recursive_dict()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
