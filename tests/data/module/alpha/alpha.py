"""Fixture: exports, emits events and calls other plugins through pluginhost."""
import pluginhost

received = []


@pluginhost.export
def ping(value):
    return ["pong", value]


@pluginhost.export(name="renamed", reentrant=True)
def original(a, b=2):
    """Adds two numbers.

    The second one is optional."""
    return a + b


def not_exported():
    return "should not be reachable"


@pluginhost.on("greeting")
def on_greeting(event):
    # Subscribed, yet never receives its own greetings.
    received.append([event.name, event.payload, event.sender])


@pluginhost.export
def received_events():
    return received


@pluginhost.export
def clear():
    received.clear()


@pluginhost.export
def emit(event, payload):
    pluginhost.emit(event, payload)
    # Changing it afterwards must not change what the others received: they got a copy.
    if isinstance(payload, dict):
        payload["changed"] = True


@pluginhost.export
def emit_many(event, count):
    for index in range(count):
        pluginhost.emit(event, index)
    return count


@pluginhost.export
def call_catching(plugin, function, arguments, timeout):
    try:
        return ["ok", pluginhost.call(plugin, function, *arguments, timeout=timeout)]
    except (pluginhost.PluginError, TimeoutError) as error:
        return ["error", str(error), type(error).__name__]
