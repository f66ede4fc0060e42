# The permission probe: tries one action by name and says whether the host let it happen. Every
# plugin of tests/data/permissions runs this same module (the build copies it into each), under
# its own X-PluginHost-Permissions.
import os
import socket
import subprocess
import sys
import threading

import pluginhost


def _read(path):
    with open(path, "rb") as file:
        file.read(1)


def _write(path):
    with open(path, "w", encoding="utf-8") as file:
        file.write("written by a probe")


def _connect(port):
    with socket.socket() as connection:
        connection.settimeout(5)
        connection.connect(("127.0.0.1", int(port)))  # a closed port refuses: the connect happened


def _send_datagram(port):
    with socket.socket(type=socket.SOCK_DGRAM) as datagram:
        datagram.sendto(b"probe", ("127.0.0.1", int(port)))


def _bind(_):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))


def _socketpair(_):
    for end in socket.socketpair():
        end.close()


def _event_loop(_):
    import asyncio

    loop = asyncio.new_event_loop()  # its self-pipe is a socketpair
    loop.close()


# _sqlite3 raises the same audit events as sqlite3 (sqlite3.connect is _sqlite3.connect), without
# importing datetime: on CPython 3.13.0, several isolated interpreters that imported _datetime
# corrupt memory as they end, whatever the host does.
def _sqlite(path):
    import _sqlite3

    connection = _sqlite3.connect(path, uri=path.startswith("file:"))
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        connection.close()


def _sqlite_attach(path):
    import _sqlite3

    connection = _sqlite3.connect(":memory:")
    try:
        connection.execute("ATTACH DATABASE ? AS attached", (path,))
        connection.execute("SELECT count(*) FROM attached.sqlite_master").fetchone()
    finally:
        connection.close()


def _open_below_data_dir(name):
    # os.open() relative to a folder descriptor: the open event does not say which folder.
    folder = os.open(pluginhost.info.data_dir, os.O_RDONLY)
    try:
        os.close(os.open(name, os.O_RDONLY, dir_fd=folder))
    finally:
        os.close(folder)


def _symlink_below_data_dir(target):
    link = os.path.join(pluginhost.info.data_dir, "escape")
    os.symlink(target, link)
    try:
        _open_below_data_dir("escape")
    finally:
        os.remove(link)


def _rmtree(_):
    import shutil

    tree = os.path.join(pluginhost.info.data_dir, "tree")
    os.makedirs(os.path.join(tree, "a", "b"))
    _write(os.path.join(tree, "a", "b", "file.txt"))
    shutil.rmtree(tree)  # opens each subfolder relative to its parent's descriptor
    if os.path.exists(tree):
        raise AssertionError(f"{tree} is still there")


def _ctypes(_):
    import ctypes

    ctypes.CDLL(None)
    return "loaded: " + ctypes.__name__


def _ctypes_events(_):
    # The audit events of `import ctypes; ctypes.CDLL(None)`, raised without loading _ctypes:
    # on CPython 3.13.0 a plugin interpreter that imported _ctypes corrupts memory as it ends.
    sys.audit("import", "ctypes", None, sys.path, sys.meta_path, sys.path_hooks)
    sys.audit("import", "_ctypes", None, sys.path, sys.meta_path, sys.path_hooks)
    sys.audit("ctypes.dlopen", None)


_hook_calls = []


def _add_audit_hook(_):
    # CPython swallows what an audit hook raises for sys.addaudithook (an Exception), so the
    # refusal shows as a hook that never runs; the host logs it.
    sys.addaudithook(lambda event, args: _hook_calls.append(event) if event == "pluginhost.probe" else None)
    sys.audit("pluginhost.probe")
    if "pluginhost.probe" not in _hook_calls:
        raise pluginhost.PermissionDenied("the audit hook was not added")


def _settrace(_):
    sys.settrace(lambda frame, event, arg: None)
    sys.settrace(None)


def _denial_types(_):
    try:
        os.system("true")
    except PermissionError as error:  # what code prepared for the system's refusals catches
        return " ".join(cls.__name__ for cls in type(error).__mro__)
    return "not denied"


def _modules(_):
    return " ".join(sorted(name for name in sys.modules if "ctypes" in name))


def _standard_library(_):
    import asyncio
    import decimal
    import email.message
    import encodings.idna
    import json
    import mimetypes
    import sqlite3

    json.dumps({"pi": decimal.Decimal("3.14")}, default=str)
    email.message.EmailMessage()["Subject"] = "ok"
    "bücher.example".encode("idna")
    assert mimetypes.guess_type("cover.png")[0] == "image/png"
    # What zoneinfo reads (3.12 cannot import zoneinfo in an isolated interpreter at all).
    _read("/etc/localtime")
    _read("/usr/share/zoneinfo/Europe/Berlin")
    with sqlite3.connect(":memory:") as connection:
        connection.execute("SELECT 1").fetchone()
    connection.close()
    asyncio.new_event_loop().close()


ACTIONS = {
    "subprocess.run": lambda _: subprocess.run(["true"], check=True),
    "os.system": lambda _: os.system("true"),
    "os.popen": lambda _: os.popen("true").close(),
    "os.posix_spawn": lambda _: os.waitpid(os.posix_spawn("/bin/true", ["true"], {}), 0),
    "os.kill": lambda _: os.kill(os.getpid(), 0),
    "socket.connect": _connect,
    "socket.sendto": _send_datagram,
    "socket.bind": _bind,
    "socket.getaddrinfo": lambda _: socket.getaddrinfo("localhost", 80),
    "socket.socketpair": _socketpair,
    "asyncio.new_event_loop": _event_loop,
    "read": _read,
    "write": _write,
    "listdir": os.listdir,
    "open below data_dir": _open_below_data_dir,
    "symlink below data_dir": _symlink_below_data_dir,
    "shutil.rmtree": _rmtree,
    "remove": os.remove,
    "chdir": lambda _: os.chdir(os.getcwd()),
    "sqlite3.connect": _sqlite,
    "sqlite3.attach": _sqlite_attach,
    "ctypes.CDLL": _ctypes,
    "ctypes events": _ctypes_events,
    "sys.addaudithook": _add_audit_hook,
    "sys.settrace": _settrace,
    "sys._current_frames": lambda _: sys._current_frames(),
    "denial_types": _denial_types,
    "modules": _modules,
    "standard_library": _standard_library,
}


def _attempt(action, target):
    try:
        detail = ACTIONS[action](target)
    except pluginhost.PermissionDenied as denied:
        return ["denied", str(denied)]
    except OSError as error:
        return ["allowed", repr(error)]  # the system answered: the host let the call through
    except Exception as error:
        return ["failed", f"{type(error).__name__}: {error}"]
    return ["allowed", detail if isinstance(detail, str) else ""]


@pluginhost.export
def probe(action, target="", in_thread=False):
    """["allowed", detail] or ["denied", message]. In target, {data_dir}, {directory} and
    {stdlib} stand for the plugin's data folder, its own folder and the standard library's."""
    target = target.format(data_dir=pluginhost.info.data_dir, directory=pluginhost.info.directory, stdlib=os.path.dirname(os.__file__))
    if not in_thread:
        return _attempt(action, target)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_attempt(action, target)))
    worker.start()
    worker.join()
    return outcome[0]


@pluginhost.export
def remember(value):
    """Keeps `value` in the plugin's storage and reads it back."""
    pluginhost.storage["remembered"] = value
    return pluginhost.storage["remembered"]
