"""Fixture: on_load() never returns (pure Python)."""


def on_load():
    while True:
        pass
