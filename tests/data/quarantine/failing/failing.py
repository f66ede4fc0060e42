"""A fixture plugin for quarantinetest: its load fails, leaving a thread asleep in C behind."""

import threading
import time


def on_load():
    threading.Thread(target=time.sleep, args=(4,), name="left-behind").start()
    raise RuntimeError("failing.py gives up after starting a thread")
