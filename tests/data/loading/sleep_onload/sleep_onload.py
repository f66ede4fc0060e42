"""Fixture: on_load() sits in C (time.sleep) past the load deadline."""
import time


def on_load():
    time.sleep(2)
