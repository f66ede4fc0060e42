"""Changes storage while iterating over it."""
import pluginhost

storage = pluginhost.storage


@pluginhost.export
def mutate():
    for number in range(100):
        storage["k%d" % number] = number
    changed = 0
    for key in storage:
        del storage[key]
        storage[key + "x"] = 1
        changed += 1
        if changed > 10_000:
            break
    return changed


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
