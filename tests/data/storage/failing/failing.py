raise RuntimeError("failing.py does not want to load")
