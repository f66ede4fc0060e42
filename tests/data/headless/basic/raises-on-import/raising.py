"""A fixture plugin for headlesstest: importing it raises, on line 9."""


def never_callable():
    """The import fails before anyone could call this."""
    return None


raise RuntimeError("raising.py refuses to be imported")
