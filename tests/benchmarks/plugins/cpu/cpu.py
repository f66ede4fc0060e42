"""Benchmark fixture: CPU-bound pure Python that holds its interpreter's GIL throughout."""
import threading


def work(n):
    total = 0
    for i in range(n):
        total = (total + i * i) & 0xFFFF
    return total


def work_one_after_another(n, count):
    for _ in range(count):
        work(n)
    return count


def work_in_threads(n, count):
    threads = [threading.Thread(target=work, args=(n,)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count


def mixed(n):
    """Allocation-heavy pure Python: records of small dicts, lists, strs and ints, kept in batches
    of 1000 (more than CPython's free lists hold, so the allocator does the work)."""
    total = 0
    batch = []
    for i in range(n):
        batch.append({"id": i, "name": str(i), "tags": [i, i * 7]})
        if len(batch) == 1000:
            total += sum(len(record["name"]) for record in batch)
            batch = []
    return total
