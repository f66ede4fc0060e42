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
