"""Three hundred non-daemon threads sleeping in C."""
import threading
import time

import pluginhost

for number in range(300):
    threading.Thread(target=time.sleep, args=(30,), name="hostile-%d" % number).start()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
