"""Sleeps in C (time.sleep), where no bytecode boundary comes to interrupt it."""
import time

import pluginhost


@pluginhost.export
def sleep_in_c(seconds, times=1):
    for _ in range(times):
        time.sleep(seconds)
    return "slept"
