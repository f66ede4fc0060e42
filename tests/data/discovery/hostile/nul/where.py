"""Fixture for discoverytest: says which folder it was loaded from, and where it may write."""
import pluginhost


@pluginhost.export
def where():
    return 'nul'


@pluginhost.export
def data_dir():
    return pluginhost.info.data_dir
