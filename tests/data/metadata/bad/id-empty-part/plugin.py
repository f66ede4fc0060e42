"""A fixture plugin for pluginmetadatatest; never imported."""
