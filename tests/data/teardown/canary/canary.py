"""Fixture: a well-behaved plugin beside the hoarder; it must keep answering."""
import pluginhost

answers = 0


@pluginhost.export
def ping():
    global answers
    answers += 1
    return answers
