"""Transactions exited twice, out of order, without entering, and on another thread."""
import threading

import pluginhost

storage = pluginhost.storage


def outcome(action):
    try:
        action()
        return "accepted"
    except Exception as error:
        return type(error).__name__


@pluginhost.export
def exit_without_enter():
    return outcome(lambda: storage.transaction().__exit__(None, None, None))


@pluginhost.export
def enter_twice():
    transaction = storage.transaction()
    transaction.__enter__()
    return [outcome(transaction.__enter__), outcome(lambda: transaction.__exit__(None, None, None)),
            outcome(lambda: transaction.__exit__(None, None, None))]


@pluginhost.export
def out_of_order():
    outer = storage.transaction()
    inner = storage.transaction()
    outer.__enter__()
    storage["outer"] = 1
    inner.__enter__()
    storage["inner"] = 1
    return [outcome(lambda: outer.__exit__(None, None, None)),
            outcome(lambda: inner.__exit__(None, None, None))]


@pluginhost.export
def exit_on_other_thread():
    transaction = storage.transaction()
    transaction.__enter__()
    storage["threaded"] = 1
    result = []
    thread = threading.Thread(target=lambda: result.append(outcome(lambda: transaction.__exit__(None, None, None))))
    thread.start()
    thread.join()
    return [result[0], outcome(lambda: transaction.__exit__(None, None, None))]


@pluginhost.export
def write_after():
    storage["after"] = 1
    return storage["after"]


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
