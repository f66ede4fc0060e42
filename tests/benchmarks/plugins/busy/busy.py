"""Benchmark fixture: a pure-Python loop that keeps its interpreter busy until told to stop."""

stop = []


def spin():
    stop.clear()
    turns = 0
    while not stop:
        turns += 1
    return turns
