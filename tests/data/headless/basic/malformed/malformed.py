"""A fixture plugin for headlesstest: its metadata.json lacks a comma, so it is never imported."""
