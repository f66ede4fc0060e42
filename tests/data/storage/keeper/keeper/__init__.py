# Uses pluginhost.storage every way a plugin can; storagetest drives it.
import inspect

import pluginhost

storage = pluginhost.storage


def _outcome(function, *args):
    try:
        return ["ok", function(*args)]
    except BaseException as error:  # noqa: BLE001 - the test wants to see every kind
        return ["error", f"{type(error).__module__}.{type(error).__qualname__}", str(error)]


def put(key, value):
    storage[key] = value


def get(key):
    return storage[key]


def get_or(key, default):
    return storage.get(key, default)


def remove(key):
    del storage[key]


def has(key):
    return key in storage


def length():
    return len(storage)


def keys():
    return storage.keys()


def iterated():
    return list(storage)


def items():
    return [list(item) for item in storage.items()]


def attempt(operation, *args):
    """["ok", result] or ["error", exception type, message] for put/get/remove/…"""
    return _outcome(globals()[operation], *args)


def attempt_expression(expression):
    """Evaluates an expression such as "storage[3]" and reports how it went."""
    return _outcome(lambda: eval(expression, {"storage": storage, "pluginhost": pluginhost}))  # noqa: S307


def put_huge(size):
    storage["huge"] = b"x" * size


def transaction(pairs, fail):
    """Writes pairs in one transaction; raises inside it when fail is true."""
    try:
        with storage.transaction():
            for key, value in pairs:
                storage[key] = value
            if fail:
                raise RuntimeError("changed my mind")
    except RuntimeError:
        return "rolled back"
    return "committed"


def nested(fail_inner):
    with storage.transaction():
        storage["outer"] = 1
        try:
            with storage.transaction():
                storage["inner"] = 2
                if fail_inner:
                    raise KeyError("inner")
        except KeyError:
            pass
    return [storage.get("outer"), storage.get("inner")]


def views_in_transactions():
    """What reads see inside a transaction and a nested one that rolls back: one snapshot per step."""
    storage["kept"] = "old"
    storage["gone"] = 0

    def view():
        return {"keys": storage.keys(), "len": len(storage), "kept": storage.get("kept"), "gone": "gone" in storage}

    views = []
    with storage.transaction():
        storage["kept"] = "new"
        del storage["gone"]
        storage["added"] = 1
        views.append(view())
        try:
            with storage.transaction():
                storage["kept"] = "inner"
                storage["inner"] = 2
                del storage["added"]
                views.append(view())
                raise KeyError("inner")
        except KeyError:
            pass
        views.append(view())
    views.append(view())
    return views


def fill_transaction(count, size):
    """Writes count values of size bytes in one transaction: ["ok"], or ["error", message, keys left]."""
    blob = b"x" * size
    try:
        with storage.transaction():
            for index in range(count):
                storage[f"fill{index}"] = blob
    except ValueError as error:
        return ["error", str(error), [key for key in storage.keys() if key.startswith("fill")]]
    return ["ok"]


def transaction_exited_elsewhere():
    """Exits a transaction on another thread: the error, then the transaction still works here."""
    import threading

    transaction = storage.transaction()
    transaction.__enter__()
    storage["elsewhere"] = 1
    outcome = []
    exiting = threading.Thread(target=lambda: outcome.append(_outcome(transaction.__exit__, None, None, None)))
    exiting.start()
    exiting.join()
    transaction.__exit__(None, None, None)
    return outcome[0] + [storage.get("elsewhere")]


def transaction_reused():
    transaction = storage.transaction()
    with transaction:
        pass
    return _outcome(transaction.__enter__)


def api():
    """What a plugin can reach through storage: every public name, and each callable's parameters."""
    found = {}
    for name in sorted(set(dir(storage)) | set(dir(type(storage)))):
        if name.startswith("_"):
            continue
        member = getattr(storage, name)
        found[name] = list(inspect.signature(member).parameters) if callable(member) else None
    return found


ROUND_TRIPS = {
    "none": None,
    "true": True,
    "false": False,
    "zero": 0,
    "int64_max": 2**63 - 1,
    "int64_min": -(2**63),
    "float": 0.1,
    "float_integral": 3.0,
    "float_big": 1.7976931348623157e308,
    "float_negative_zero": -0.0,
    "str": "abc",
    "str_unicode": "Grüße, 世界 🎉",
    "str_empty": "",
    "bytes": b"abc",
    "bytes_binary": bytes(range(256)),
    "bytes_empty": b"",
    "list": [1, "two", b"three", None, 4.5, False, [], {}],
    "map": {"a": 1, "b": [b"x", "x"], "c": {"d": None}},
    "map_empty": {},
}
# What comes back differently, by design: tuples as lists, bytearray as bytes.
CONVERTED = {"tuple": ((1, 2), [1, 2]), "bytearray": (bytearray(b"ab"), b"ab")}


def _same(left, right):
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, float):
        return repr(left) == repr(right)  # tells -0.0 from 0.0
    return left == right


def store_round_trips():
    for key, value in ROUND_TRIPS.items():
        storage["rt." + key] = value
    for key, (value, _) in CONVERTED.items():
        storage["rt." + key] = value


def check_round_trips():
    """The keys whose value did not come back exactly (type included)."""
    wrong = [key for key, value in ROUND_TRIPS.items() if not _same(storage.get("rt." + key, "<missing>"), value)]
    wrong += [key for key, (_, back) in CONVERTED.items() if not _same(storage.get("rt." + key, "<missing>"), back)]
    return wrong


def previous():
    return pluginhost.info.previous_state


def on_unload():
    return {"from": "keeper"}
