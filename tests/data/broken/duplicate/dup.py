def echo(*args):
    return ["duplicate"]
