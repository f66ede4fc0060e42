"""A fixture plugin for headlesstest: exceptions whose text is far too long to print."""


def huge_message():
    """Raises an exception of 50,000,000 characters between a recognisable start and end."""
    raise ValueError("start of the message " + "x" * 50_000_000 + " end of the message")


def huge_chain():
    """Raises the end of a chain of 20 exceptions that all share one 5,000,000-character message."""
    message = "y" * 5_000_000
    error = None
    for _ in range(20):
        try:
            raise RuntimeError(message) from error
        except RuntimeError as caught:
            error = caught
    raise LookupError("the last of the chain") from error


def huge_repr():
    """Raises a KeyError whose str() is the repr of a long list."""
    raise KeyError(["z" * 1000] * 20_000)


def huge_type_name():
    """Returns a value that cannot cross, of a class whose name has 5,000,000 characters."""
    return type("T" * 5_000_000, (), {})()


def huge_key():
    """Returns a dict whose value cannot cross, under a key of 5,000,000 characters."""
    return {"k" * 5_000_000: object()}
