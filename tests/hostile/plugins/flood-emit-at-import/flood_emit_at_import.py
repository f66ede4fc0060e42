"""Emits two hundred thousand events while being imported."""
import pluginhost

for number in range(200_000):
    pluginhost.emit("hostile.flood", number)


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
