"""A thread that keeps using storage, log, emit, call and info after its plugin unloaded."""
import threading
import time

import pluginhost

CANARY = "org.pluginhost.hostile.canary"
ACTIONS = [
    lambda number: pluginhost.storage.__setitem__("n", number),
    lambda number: pluginhost.storage.get("n"),
    lambda number: len(pluginhost.storage),
    lambda number: pluginhost.log.debug("still here %d" % number),
    lambda number: pluginhost.emit("hostile.after-unload", number),
    lambda number: pluginhost.call(CANARY, "ping", timeout=1.0),
    lambda number: pluginhost.info.data_dir,
    lambda number: pluginhost.tr("text"),
    lambda number: print("printed", number),
]


def use_everything(number):
    for action in ACTIONS:
        try:
            action(number)
        except BaseException:
            pass


def pester():
    number = 0
    while True:
        try:
            use_everything(number)
            number += 1
            time.sleep(0.002)
        except BaseException:
            pass


threading.Thread(target=pester, name="hostile-pest").start()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
