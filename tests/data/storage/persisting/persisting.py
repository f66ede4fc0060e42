# Opts in to X-PluginHost-PersistState: what on_unload() returns comes back after a restart.
import pluginhost

count = (pluginhost.info.previous_state or {}).get("count", 0)


def bump():
    global count
    count += 1
    return count


def previous():
    return pluginhost.info.previous_state


def on_unload():
    return {"count": count, "blob": b"\x00\x01"}
