"""Fixture: a package that shadows the standard library's calendar on purpose: it comes from
the plugin's folder, so it is the plugin's own and loads."""
import pluginhost


@pluginhost.export
def where():
    import calendar  # this package, not the standard library's

    return calendar.__file__
