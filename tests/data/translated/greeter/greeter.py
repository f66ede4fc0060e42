"""Fixture: translated through its own catalog, translations/greeter_<locale>.qm (built from the .ts)."""
import pluginhost
from pluginhost import tr


@pluginhost.export
def greetings():
    return [
        pluginhost.tr("Hello"),
        tr("Goodbye"),
        pluginhost.translate("greeter", "Good morning"),
        pluginhost.tr("Not in the catalog"),
    ]
