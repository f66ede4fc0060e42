"""Never finishes importing: sleeps in C at module level."""
import time

time.sleep(30)
