# Disabled by default: loadAll() leaves it alone until it is enabled.
def hello():
    return "hello"
