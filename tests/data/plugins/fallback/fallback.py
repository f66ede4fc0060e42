"""Fixture: uses datetime, whose C accelerator _datetime is a single-phase extension on CPython
3.12. An isolated interpreter refuses it there, and datetime catches that ImportError and falls
back to the pure-Python _pydatetime."""
import datetime


def implementation():
    # "datetime" for the C types of _datetime, "_pydatetime" for the pure-Python ones.
    return type(datetime.date(2024, 1, 2)).__module__


def tomorrow(iso_date):
    return (datetime.date.fromisoformat(iso_date) + datetime.timedelta(days=1)).isoformat()
