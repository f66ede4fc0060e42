"""A fixture plugin for headlesstest: its id holds a NUL, and it fails to load."""

raise RuntimeError("the error of the plugin whose id holds a NUL")
