"""A handler that answers every event with a hundred more of the same, and an export that calls itself."""
import pluginhost


@pluginhost.on("hostile.echo")
def echo(event):
    for _ in range(100):
        pluginhost.emit("hostile.echo", event.payload)


@pluginhost.export
def call_self():
    return pluginhost.call(pluginhost.info.id, "alive")


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
