"""Fixture for buffertest: passes a Buffer on to the reader plugin, and emits one."""
import pluginhost

READER = "org.test.buffer.reader"


@pluginhost.export
def forward(buffer):
    """Hands buffer to the reader: what the reader saw, and what it gave back, as seen here."""
    seen = pluginhost.call(READER, "inspect", buffer)
    returned = pluginhost.call(READER, "echo", buffer)
    return {"seen": seen, "returned address": returned.address, "returned type": type(returned).__name__,
            "own address": buffer.address}


@pluginhost.export
def emit(buffer):
    pluginhost.emit("frame", {"frame": buffer, "size": len(buffer)})
