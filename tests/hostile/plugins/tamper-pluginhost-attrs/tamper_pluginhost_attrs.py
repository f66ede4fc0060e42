"""Rebinds and deletes the pluginhost module's attributes and tries to patch its types."""
import pluginhost

original = pluginhost


@pluginhost.export
def tamper():
    outcome = {}
    attempts = {
        "rebind Cancelled": lambda: setattr(pluginhost, "Cancelled", ValueError),
        "rebind PermissionDenied": lambda: setattr(pluginhost, "PermissionDenied", ValueError),
        "delete storage": lambda: delattr(pluginhost, "storage"),
        "rebind export": lambda: setattr(pluginhost, "export", None),
        "patch Storage": lambda: setattr(type(original.info), "id", property(lambda self: "org.pluginhost.hostile.canary")),
        "patch Event": lambda: setattr(original.Event, "sender", "forged"),
        "patch Buffer": lambda: setattr(original.Buffer, "__len__", lambda self: -1),
    }
    for label, attempt in attempts.items():
        try:
            attempt()
            outcome[label] = "done"
        except Exception as error:
            outcome[label] = type(error).__name__
    return outcome


@pluginhost.export
def spin():
    try:
        while True:
            pass
    except ValueError:
        return "caught the host's Cancelled as ValueError"


@pluginhost.export
def whoami():
    return original.info.id


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
