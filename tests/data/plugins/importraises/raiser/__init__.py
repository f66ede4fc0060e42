from . import helper  # noqa: F401
