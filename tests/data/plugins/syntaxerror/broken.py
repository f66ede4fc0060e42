"""Fixture: a syntax error on line 4."""


def oops(:
    pass
