"""Fixture: keeps objects of the pluginhost module wherever Python can keep them past an unload.

hoard(kinds, frame) makes objects of each kind (see MAKERS) and keeps every one of them
- in module globals: the exports refer to this module's dict, so these live until the last
  collection of Py_EndInterpreter(), which ends them together with the module's own types,
- in a reference cycle,
- in the __del__ of an object in a cycle: it uses the object while the collector ends it,
- in an atexit handler and in a thread-local of the plugin's thread.
(A finalizer that made a new object referring to the others would resurrect them all, and
the interpreter would end without freeing any: not a teardown to test.)
Events (received from the test's broadcast) and Buffers are kept the same way, and "asyncio"
leaves tasks, futures, callbacks and an async generator pending, holding both.

The kinds pass to the next instance through on_unload()'s state: each load hoards them again
at import, so that every unload and reload tears them down once more.

Keepers run at teardown, when this module's globals may be None already: they reach what they
need through arguments and closures only, and swallow what they raise.
"""
import asyncio
import atexit
import sys
import threading

import pluginhost

kinds = list(pluginhost.info.previous_state or [])
kept = []
kept_events = []
thread_local = threading.local()


def quietly(action):
    def run(obj):
        try:
            action(obj)
        except BaseException:
            pass

    return run


class Cycle:
    def __init__(self, obj):
        self.obj = obj
        self.me = self


class UsesWhenFinalized:
    def __init__(self, obj, use):
        self.obj = obj
        self.use = use
        self.me = self

    def __del__(self):
        self.use(self.obj)


def keep(obj, use):
    use = quietly(use)
    kept.append(obj)
    globals()["kept_%d" % len(kept)] = obj
    kept.append(Cycle(obj))
    kept.append(UsesWhenFinalized(obj, use))
    atexit.register(use, obj)
    setattr(thread_local, "kept_%d" % len(kept), obj)


# --- the kinds ------------------------------------------------------------------------------


def make_info():
    return [(pluginhost.info, lambda info: (info.id, info.data_dir, info.previous_state, repr(info)))]


def make_logger():
    return [
        (pluginhost.log, lambda log: (log.info("late"), log.error("late"))),
        (pluginhost.log.warning, lambda warning: warning("late")),
    ]


def make_logstream():
    sys.stdout.write("a line the plugin never ends")
    sys.stderr.write("another")
    write = lambda stream: (stream.write("late\nand unfinished"), stream.flush())
    return [(sys.stdout, write), (sys.stderr, write), (sys.stderr.write, lambda bound: bound("late\n"))]


def make_storage():
    def use(storage):
        storage["late"] = 1
        storage.get("late")
        len(storage)
        "late" in storage
        list(storage)
        storage.items()
        storage.transaction().__enter__()

    storage = pluginhost.storage
    return [(storage, use), (storage.get, lambda get: get("late")), (storage.keys, lambda keys: keys())]


def make_transaction():
    storage = pluginhost.storage
    ready = storage.transaction()
    entered = storage.transaction()
    entered.__enter__()
    nested = storage.transaction()
    nested.__enter__()
    done = storage.transaction()
    done.__enter__()
    done.__exit__(None, None, None)
    enter_and_exit = lambda transaction: (transaction.__enter__(), transaction.__exit__(None, None, None))
    # The entered ones stay open to the end: only their deallocation can roll them back.
    enter_again = lambda transaction: transaction.__enter__()
    return [
        (ready, enter_and_exit),
        (entered, enter_again),
        (nested, enter_again),
        (done, enter_and_exit),
        (entered.__exit__, lambda exit: repr(exit)),
        (storage.transaction, lambda make: make().__enter__()),
    ]


def make_buffer(frame):
    buffer = pluginhost.Buffer(b"hoarded" * 1000)
    use = lambda buffer: (bytes(buffer), len(buffer), buffer == b"hoarded", memoryview(buffer).tobytes(), buffer.address)
    objects = [(buffer, use), (memoryview(buffer), lambda view: view.tobytes()), (pluginhost.Buffer, lambda make: make(b"late"))]
    if frame is not None:
        objects += [(frame, use), (memoryview(frame)[1:], lambda view: view.tobytes())]
    return objects


def make_closures():
    use_decorator = lambda decorator: decorator(lambda event=None: None)
    return [
        (pluginhost.export(name="late"), use_decorator),
        (pluginhost.on("teardown.late"), use_decorator),
        (pluginhost.export, lambda export: export(lambda: None)),
        (pluginhost.emit, lambda emit: emit("teardown.late", {"frame": b"late"})),
        (pluginhost.call, lambda call: call("org.test.teardown.canary", "ping", timeout=1)),
        (pluginhost.tr, lambda tr: tr("late")),
        (pluginhost.sleep, lambda sleep: sleep(0)),
    ]


async def make_pending(frame):
    """Tasks, a future, a callback and an async generator left pending, holding a Buffer."""
    loop = asyncio.get_running_loop()
    forever = loop.create_future()
    forever.add_done_callback(lambda future, frame=frame: bytes(frame))

    async def waits(frame, forever):
        await forever

    async def refuses_to_stop(frame, sleep=asyncio.sleep, cancelled=asyncio.CancelledError):
        while True:
            try:
                await sleep(3600)
            except cancelled:
                pass  # outlives the grace the host gives at unload: abandoned with its loop

    async def generator(frame):
        while True:
            yield frame

    frames = generator(frame)
    await frames.__anext__()
    tasks = [loop.create_task(waits(frame, forever)), loop.create_task(refuses_to_stop(frame))]
    handle = loop.call_later(3600, bytes, frame)
    use = lambda task: task.cancel()
    return [(loop, lambda loop: loop.call_soon(bytes, b"late")), (forever, lambda future: future.set_result(None)), (frames, lambda agen: agen.ag_running)] + [
        (task, use) for task in tasks
    ] + [(handle, lambda handle: handle.cancel())]


MAKERS = {
    "info": make_info,
    "logger": make_logger,
    "logstream": make_logstream,
    "storage": make_storage,
    "transaction": make_transaction,
    "closures": make_closures,
}


def hoard_kinds(frame=None):
    for kind in kinds:
        if kind in MAKERS:
            objects = MAKERS[kind]()
        elif kind == "buffer":
            objects = make_buffer(frame)
        else:
            continue  # "event": kept when one arrives; "asyncio": needs the running loop
        for obj, use in objects:
            keep(obj, use)


async def hoard_pending(frame=None):
    if "asyncio" in kinds:
        for obj, use in await make_pending(frame if frame is not None else pluginhost.Buffer(b"pending")):
            keep(obj, use)


# --- what the host sees ---------------------------------------------------------------------


@pluginhost.export
async def hoard(new_kinds, frame):
    kinds[:] = new_kinds
    hoard_kinds(frame)
    await hoard_pending(frame)
    return len(kept)


@pluginhost.export
def hoarded():
    return {"objects": len(kept), "events": len(kept_events)}


@pluginhost.on("teardown.hoard")
def keep_event(event):
    if "event" in kinds or "asyncio" in kinds:
        kept_events.append(event)
    if "event" in kinds:
        keep(event, lambda event: (event.name, event.payload, event.sender, repr(event)))
        keep(event.payload, lambda payload: bytes(payload["frame"]))


@pluginhost.on("teardown.hoard")
async def await_with_event(event):
    if "asyncio" in kinds:
        await asyncio.get_running_loop().create_future()  # pending until the loop closes


# Reachable from the module's state through this export, the globals above stay alive until the
# last collection of the interpreter, with the module's types.
hoarded.keepers = kept


hoard_kinds()  # at import, as a plugin's own module-level code would


async def on_load():
    await hoard_pending()


def on_unload():
    return kinds
