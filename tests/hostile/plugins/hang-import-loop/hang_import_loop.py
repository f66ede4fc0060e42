"""Never finishes importing: loops in Python at module level."""
while True:
    pass
