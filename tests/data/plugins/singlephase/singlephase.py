"""Fixture: imports a single-phase extension, which isolated interpreters refuse."""
import _testsinglephase  # noqa: F401


def ping():
    return "pong"
