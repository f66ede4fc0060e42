"""Never finishes importing: spins inside one C call (no bytecode boundary, GIL held)."""
import itertools

sum(itertools.repeat(1, 10**13))
