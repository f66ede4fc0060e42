# allocatortest's plugin: what the allocator of its interpreter says about itself.
import sys


def allocated_blocks():
    """Blocks held by pymalloc: 0 when objects come from malloc() instead."""
    kept = [[n] for n in range(1000)]  # something to allocate while counting
    blocks = sys.getallocatedblocks()
    del kept
    return blocks


def build(count):
    """Work that allocates and frees small objects, to show it still works."""
    records = [{"n": n, "text": str(n), "items": [n, n + 1]} for n in range(count)]
    return sum(len(record["text"]) for record in records)
