"""Objects whose __eq__, __hash__, __str__, __repr__, __len__, __iter__ raise, and str/dict/list subclasses that lie."""
import pluginhost


class Evil:
    def __eq__(self, other):
        raise RuntimeError("__eq__")

    def __hash__(self):
        raise RuntimeError("__hash__")

    def __str__(self):
        raise RuntimeError("__str__")

    def __repr__(self):
        raise RuntimeError("__repr__")

    def __len__(self):
        raise RuntimeError("__len__")

    def __iter__(self):
        raise RuntimeError("__iter__")

    def __bool__(self):
        raise RuntimeError("__bool__")

    def __getattr__(self, name):
        raise RuntimeError("__getattr__ " + name)


class EvilStr(str):
    def __str__(self):
        raise RuntimeError("EvilStr.__str__")

    def __eq__(self, other):
        raise RuntimeError("EvilStr.__eq__")

    def __hash__(self):
        raise RuntimeError("EvilStr.__hash__")


class EvilDict(dict):
    def keys(self):
        raise RuntimeError("EvilDict.keys")

    def items(self):
        raise RuntimeError("EvilDict.items")

    def __iter__(self):
        raise RuntimeError("EvilDict.__iter__")


class EvilList(list):
    def __iter__(self):
        raise RuntimeError("EvilList.__iter__")

    def __len__(self):
        raise RuntimeError("EvilList.__len__")


class EvilFloat(float):
    def __float__(self):
        raise RuntimeError("EvilFloat.__float__")

    def __repr__(self):
        raise RuntimeError("EvilFloat.__repr__")


@pluginhost.export
def return_evil():
    return Evil()


@pluginhost.export
def return_evil_in_list():
    return [1, {"cover": Evil()}]


@pluginhost.export
def return_evil_str():
    return EvilStr("value")


@pluginhost.export
def return_evil_key():
    return {EvilStr.__new__(EvilStr, "key"): 1}


@pluginhost.export
def return_evil_dict():
    return EvilDict(a=1)


@pluginhost.export
def return_evil_list():
    return EvilList([1, 2])


@pluginhost.export
def return_evil_float():
    return EvilFloat(1.5)


@pluginhost.export
def emit_evil():
    pluginhost.emit("hostile.bomb", Evil())


@pluginhost.export
def store_evil():
    pluginhost.storage["evil"] = Evil()


@pluginhost.export
def evil_names():
    results = []
    for action in (lambda: pluginhost.export(lambda: 1, name=EvilStr("evil")),
                   lambda: pluginhost.on(EvilStr("hostile.evil"))(lambda event: None),
                   lambda: pluginhost.emit(EvilStr("hostile.evil"), None),
                   lambda: pluginhost.storage.__setitem__(EvilStr("evil"), 1)):
        try:
            action()
            results.append("accepted")
        except Exception as error:
            results.append(type(error).__name__)
    return results


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
