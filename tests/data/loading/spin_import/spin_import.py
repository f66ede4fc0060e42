"""Fixture: its import never ends (pure Python)."""
while True:
    pass
