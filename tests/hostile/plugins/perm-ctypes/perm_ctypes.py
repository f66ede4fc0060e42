"""Loads native code with ctypes without the native permission (importing ctypes loads a library too)."""
import pluginhost


@pluginhost.export
def load_libc():
    import ctypes

    return str(ctypes.CDLL("libc.so.6"))


@pluginhost.export
def load_self():
    import ctypes

    return str(ctypes.CDLL(None).getpid())


@pluginhost.export
def read_memory():
    import ctypes

    data = b"hostile"
    return ctypes.string_at(id(data), 8).hex()


@pluginhost.export
def python_api():
    import ctypes

    return ctypes.pythonapi.Py_IsInitialized()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
