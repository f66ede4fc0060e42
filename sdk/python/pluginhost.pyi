"""The host's API for plugins: exports, events, calls to other plugins, storage, logging, translations.

Only a plugin that PluginHost runs can import it; each plugin gets its own module,
types and exception classes, and nothing one plugin does to them is seen by another.

    import pluginhost

    @pluginhost.export
    def greet(name: str) -> str:
        return pluginhost.tr("Hello, {}!").format(name)

    @pluginhost.on("message")
    def on_message(event: pluginhost.Event) -> None:
        pluginhost.log.info(f"{event.sender} says {event.payload}")

    pluginhost.emit("greeted", {"name": "Ada"})
    pluginhost.call("org.example.other", "lookup", "Ada", timeout=5.0)

Values that cross to the host or to another plugin are copied: None, bool, int (64-bit),
float, str, bytes, bytearray, and lists, tuples and str-keyed dicts of these. Anything else
raises TypeError naming where it sat, e.g. `payload["cover"]`. The exception is Buffer:
read-only bytes that cross without being copied.
"""

from types import TracebackType
from typing import Any, Callable, Iterator, Literal, TypeAlias, TypeVar, final, overload

from _typeshed import ReadableBuffer

_Value: TypeAlias = (
    None | bool | int | float | str | bytes | bytearray | Buffer | list[_Value] | tuple[_Value, ...] | dict[str, _Value]
)
_Function = TypeVar("_Function", bound=Callable[..., Any])
_Handler = TypeVar("_Handler", bound=Callable[[Event], object])

@overload
def export(function: _Function, /, *, name: str | None = None, reentrant: bool = False) -> _Function:
    """Makes function callable by the host and by other plugins, and returns it unchanged.

    Use it as `@export` or as `@export(name="other_name", reentrant=True)`. The export is
    known by `name`, or else by the function's own name; exporting a name twice raises
    ValueError, a non-callable TypeError. `reentrant=True` lets calls to it run while
    another call of this plugin is busy.

    An `async def` function may be exported too: each call runs as a task of the plugin's
    asyncio loop (made on first use, on the plugin's thread), so calls overlap while they
    await. A caller that cancels, or a deadline that passes, cancels the task: the coroutine
    sees asyncio.CancelledError.
    """

@overload
def export(function: None = None, /, *, name: str | None = None, reentrant: bool = False) -> Callable[[_Function], _Function]:
    """`@export(name=..., reentrant=...)`: returns the decorator that exports the function."""

def on(event: str, /) -> Callable[[_Handler], _Handler]:
    """Decorator: calls the function with an Event whenever the host or another plugin emits `event`.

    Handlers of one event run in the order they subscribed. A handler that raises is logged
    with its traceback and the other handlers still run. The function is returned unchanged.
    An `async def` handler runs as a task of the plugin's asyncio loop; what it raises is logged.
    """

def emit(event: str, payload: _Value = None, /) -> None:
    """Sends a copy of payload to the host and to every other plugin subscribed to `event`.

    Raises TypeError when payload holds a value that cannot cross (naming where it sat),
    PluginError when the plugin is unloading.
    """

def call(plugin: str, function: str, /, *args: _Value, timeout: float | None = None) -> Any:
    """Calls `function`, an export of the plugin `plugin`, with copies of args and returns a copy of its result.

    Waits at most `timeout` seconds (None: as long as it takes) without holding this plugin's
    GIL. Raises PluginError when the call fails or would wait on itself (a cycle of calls),
    TimeoutError when the timeout passes, and Cancelled when the host cancels it. Keyword
    arguments other than `timeout` cannot cross to another plugin: they raise TypeError.
    """

def sleep(seconds: float, /) -> None:
    """Waits `seconds` without holding the GIL, like time.sleep(), except that the host can interrupt it.

    Re-entrant calls and the host's interrupts run meanwhile, and when the running call is
    cancelled or passes its deadline, Cancelled is raised out of sleep() at once (time.sleep()
    would finish first). On a thread the plugin started it is time.sleep(). Inside a coroutine
    use `await asyncio.sleep(seconds)`: this one would stop the whole loop.
    """

def tr(text: str, /) -> str:
    """The translation of text from the plugin's own .qm catalogs, or text itself."""

def translate(context: str, text: str, /) -> str:
    """The translation of text in `context` from the plugin's own .qm catalogs, or text itself."""

@final
class Event:
    """An event delivered to a handler subscribed with @pluginhost.on(name).

    Made by the host only: it cannot be instantiated, and its attributes are read-only.
    """

    @property
    def name(self) -> str:
        """The event's name, as given to emit()."""

    @property
    def payload(self) -> Any:
        """A copy of what the sender passed."""

    @property
    def sender(self) -> str:
        """The id of the plugin that emitted it; "" for the host."""

@final
class PluginInfo:
    """What the host knows about this plugin: the type of pluginhost.info. Not instantiable."""

    @property
    def id(self) -> str:
        """The plugin's id from metadata.json."""

    @property
    def version(self) -> str:
        """The plugin's version from metadata.json."""

    @property
    def directory(self) -> str:
        """The plugin's folder."""

    @property
    def data_dir(self) -> str:
        """A folder the plugin may write to, created on first use."""

    @property
    def interpreter_id(self) -> int:
        """CPython's id of the plugin's interpreter."""

    @property
    def gil(self) -> Literal["own", "shared"]:
        """Either "own" (a per-interpreter GIL) or "shared"."""

    @property
    def previous_state(self) -> Any:
        """What on_unload() of the previous instance returned, or None."""

@final
class Logger:
    """Writes to the plugin's Qt logging category, pluginhost.plugin.<id>: the type of pluginhost.log.

    Each record carries the caller's file and line. print() and sys.stdout go to the same
    category at info level, sys.stderr (and so the logging module's default handler) at
    warning level, one record per line. Not instantiable.
    """

    def debug(self, message: object, /) -> None:
        """Logs str(message) as a debug message."""

    def info(self, message: object, /) -> None:
        """Logs str(message) as an informational message."""

    def warning(self, message: object, /) -> None:
        """Logs str(message) as a warning."""

    def error(self, message: object, /) -> None:
        """Logs str(message) as an error."""

    def critical(self, message: object, /) -> None:
        """Logs str(message) as a critical error."""

@final
class Storage:
    """The plugin's own persistent mapping: the type of pluginhost.storage. Not instantiable.

    Keys are str; values are those that may cross interpreters (see the module's docstring),
    kept as CBOR in the application profile's SQLite database, at most 16 MiB each once
    encoded. A value comes back as a copy, with tuples as lists and bytearray as bytes. Values
    survive reloads and restarts. The plugin reaches only its own keys: the namespace is its
    id, chosen by the host.

    `storage[key]` raises KeyError for a missing key; a key that is not a str raises TypeError,
    a key longer than 1024 bytes of UTF-8 ValueError, a value that cannot be kept TypeError
    naming where it sat (`storage['cover'][2]`), a value too large ValueError. When the database cannot be read or written (disk full, read-only,
    locked by another process) the operation raises PluginError and nothing else breaks.
    Every operation commits at once, unless it runs inside `with storage.transaction():`.
    """

    def __getitem__(self, key: str, /) -> Any: ...
    def __setitem__(self, key: str, value: _Value, /) -> None: ...
    def __delitem__(self, key: str, /) -> None: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def get(self, key: str, default: Any = None, /) -> Any:
        """The value stored under key, or default."""

    def keys(self, /) -> list[str]:
        """The keys, sorted, as a list."""

    def items(self, /) -> list[tuple[str, Any]]:
        """The (key, value) pairs, sorted by key, as a list."""

    def transaction(self, /) -> StorageTransaction:
        """A context manager: the writes inside it are committed as one, or rolled back when it exits with an exception.

        Transactions nest (the inner one is a savepoint) and belong to the thread that entered
        them. Until it commits, the writes are seen only by reads inside it, and no one else waits
        for it; it holds at most 64 MiB of writes (ValueError beyond). One left open is rolled
        back, with a warning naming where it was entered, when its object goes or the plugin unloads.
        """

@final
class StorageTransaction:
    """What Storage.transaction() returns: use it once, in a with statement. Not instantiable."""

    def __enter__(self) -> StorageTransaction: ...
    def __exit__(
        self, type: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None, /
    ) -> Literal[False]: ...

@final
class Buffer:
    """Read-only bytes that cross to the host and to other plugins without being copied.

    The host passes one (a PluginHost::Buffer) where copying its bytes would cost: it arrives
    as a Buffer over the host's own memory. A Buffer a plugin returns, emits, stores in a
    container that crosses, or passes to call() reaches the other side over the same bytes.
    `Buffer(data)` makes one from any bytes-like object, copying it once; `Buffer(buffer)`
    returns buffer itself.

    Read it with anything that takes a bytes-like object: `memoryview(buffer)` (read-only, so
    slicing it copies nothing), `zlib.crc32`, `struct.unpack_from`, `bytes.find`, ...
    Writing is impossible: a writable view raises BufferError, item assignment TypeError.
    `bytes(buffer)` and `bytearray(buffer)` make copies. `len()`, `==` (against a Buffer or
    any bytes-like object with the same bytes) and `!=` work; it is not hashable.
    """

    def __new__(cls, data: ReadableBuffer, /) -> Buffer: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __len__(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

    @property
    def address(self) -> int:
        """The address of the first byte, for diagnostics: the host and every plugin holding these bytes see the same one."""

class PluginError(Exception):
    """A call through the host failed, or the host refused a request.

    Also raised by every function of this module once the plugin is unloading.
    """

class Cancelled(BaseException):
    """The host cancelled the running call (a deadline passed or the caller gave up).

    A BaseException, so that `except Exception` does not swallow it.
    """

class PermissionDenied(PluginError, PermissionError):
    """The plugin lacks the permission (X-PluginHost-Permissions) for what it tried.

    Also a PermissionError (an OSError), like a refusal of the system itself.
    """

info: PluginInfo
"""This plugin's id, version, folders, interpreter id and GIL mode."""

log: Logger
"""This plugin's logger."""

storage: Storage
"""This plugin's persistent mapping."""
