def on_load():
    raise KeyError("missing-setting")
