"""Fixture: plain functions exercising values, errors and state."""
import time

counter = 0


def echo(*args):
    return list(args)


def add(a, b):
    return a + b


def increment():
    global counter
    counter += 1
    return counter


def types(*args):
    return [type(value).__name__ for value in args]


def fail(message):
    raise ValueError(message)


def returns_set():
    return {1, 2, 3}


def returns_nested_bad():
    return {"album": {"cover": object()}}


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def _private():
    return "hidden"


NOT_CALLABLE = 42
