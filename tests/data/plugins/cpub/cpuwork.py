"""Fixture: CPU-bound pure Python work, reporting when it ran (CLOCK_MONOTONIC)."""
import time


def work(iterations):
    start = time.monotonic()
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return [start, time.monotonic(), total]
