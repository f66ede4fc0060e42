# Leaves storage transactions open, the ways a careless or hostile plugin can; storagetest checks
# that no one else waits for them, and that each is rolled back and reported with where it began.
# The lines marked "opened here" are the ones the reports must name.
import pluginhost

storage = pluginhost.storage
held = None


def hold(key, value):
    """Enters a transaction, writes key in it, and returns with it still open."""
    global held
    held = storage.transaction()
    held.__enter__()  # opened here: hold
    storage[key] = value
    return storage[key]


def read(key):
    """What this plugin's thread sees for key, its open transaction's writes included."""
    return storage.get(key)


def hold_while_sleeping(key, value):
    """Writes key in a transaction, says so, and sleeps in it until the call is cancelled."""
    with storage.transaction():
        storage[key] = value
        pluginhost.emit("holder.holding", key)
        pluginhost.sleep(3600)


def drop_open(key):
    """Enters a transaction, writes key in it, and drops it without exiting it."""
    transaction = storage.transaction()
    transaction.__enter__()  # opened here: drop_open
    storage[key] = 1
    del transaction
    return key in storage
