"""Fixture: busy in a Python loop until a file appears (a stand-in for 'loops forever')."""
import os
import time


def spin_until(path):
    spins = 0
    while not os.path.exists(path):
        for _ in range(10000):
            spins += 1
    return spins


def ping():
    return "pong"


def monotonic():
    return time.monotonic()
