"""Lone surrogates and NULs in results, keys, event names, storage, logs and errors."""
import pluginhost


@pluginhost.export
def lone_surrogate():
    return "\ud800"


@pluginhost.export
def surrogate_key():
    return {"\udc80": 1}


@pluginhost.export
def surrogate_emit():
    pluginhost.emit("hostile.\ud800", "\udfff")
    return "emitted"


@pluginhost.export
def surrogate_storage():
    pluginhost.storage["\ud800"] = "\udfff"
    return pluginhost.storage["\ud800"]


@pluginhost.export
def surrogate_log():
    pluginhost.log.warning("\ud800")
    print("\udfff")
    return "logged"


@pluginhost.export
def surrogate_error():
    raise ValueError("\ud800")


@pluginhost.export
def nul_strings():
    return {"a\x00b": "c\x00d"}


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
