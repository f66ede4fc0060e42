"""Opens the profile's pluginhost.sqlite directly, to read and overwrite other plugins' data."""
import os
import sqlite3

import pluginhost


def profile_database():
    # data_dir is <data location>/<id>; the driver, like the default, keeps the data location in the profile.
    return os.path.normpath(os.path.join(pluginhost.info.data_dir, "..", "..", "pluginhost.sqlite"))


@pluginhost.export
def overwrite_everything():
    connection = sqlite3.connect(profile_database())
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [row[1] for row in connection.execute("PRAGMA table_info(%s)" % table)]
            for column in columns:
                if column in ("value", "enabled"):
                    connection.execute("UPDATE %s SET %s = 0" % (table, column))
        connection.commit()
        return tables
    finally:
        connection.close()


@pluginhost.export
def read_raw():
    with open(profile_database(), "rb") as database:
        return len(database.read())


@pluginhost.export
def open_read_only():
    connection = sqlite3.connect("file:%s?mode=ro" % profile_database(), uri=True)
    try:
        return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    finally:
        connection.close()


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
