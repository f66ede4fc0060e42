"""NaN, infinities, negative zero and subnormals: results, payloads, storage."""
import math

import pluginhost

SPECIALS = [math.nan, math.inf, -math.inf, -0.0, 5e-324]


@pluginhost.export
def specials():
    return SPECIALS


@pluginhost.export
def emit_specials():
    pluginhost.emit("hostile.bomb", {"floats": SPECIALS})
    return "emitted"


@pluginhost.export
def store_specials():
    pluginhost.storage["floats"] = SPECIALS
    back = pluginhost.storage["floats"]
    return [repr(value) for value in back]


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
