"""Raises MemoryError while its module is imported: the host must neither exit nor stop."""
import pluginhost

bytearray(1 << 62)  # a real MemoryError: no allocator hands out 4 EiB


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
