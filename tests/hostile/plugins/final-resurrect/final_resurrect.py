"""Objects that resurrect themselves from __del__ and make more of themselves."""
import pluginhost

graveyard = []


class Phoenix:
    def __del__(self):
        graveyard.append(self)
        if len(graveyard) < 100_000:
            Phoenix()


Phoenix()
cycle = Phoenix()
cycle.self = cycle


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
