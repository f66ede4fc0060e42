"""Values whose repr() never returns or is 50 MB, and a type whose name is a megabyte."""
import pluginhost


class EndlessRepr:
    def __repr__(self):
        while True:
            pass

    __str__ = __repr__


class HugeRepr:
    def __repr__(self):
        return "r" * 50_000_000

    __str__ = __repr__


@pluginhost.export
def return_endless_repr():
    return [EndlessRepr()]


@pluginhost.export
def return_huge_repr():
    return {"value": HugeRepr()}


@pluginhost.export
def return_huge_type_name():
    return type("T" * 1_000_000, (), {})()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
