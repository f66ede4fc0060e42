"""Ten-megabyte event names, export names and subscriptions."""
import pluginhost

HUGE = "n" * (10 * 1024 * 1024)


@pluginhost.export
def emit_huge_name():
    pluginhost.emit(HUGE, None)
    return "emitted"


@pluginhost.export
def export_huge_name():
    pluginhost.export(lambda: "x", name=HUGE)
    return "exported"


@pluginhost.export
def subscribe_huge_name():
    pluginhost.on(HUGE)(lambda event: None)
    return "subscribed"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
