"""Fixture: raises while being imported."""


raise RuntimeError("cannot start: no configuration")
