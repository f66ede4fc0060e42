"""Event handlers, plain and async, that raise every kind of BaseException."""
import pluginhost


@pluginhost.on("hostile.systemexit")
def exit_handler(event):
    raise SystemExit(1)


@pluginhost.on("hostile.keyboardinterrupt")
def interrupt_handler(event):
    raise KeyboardInterrupt


@pluginhost.on("hostile.generatorexit")
def generator_exit_handler(event):
    raise GeneratorExit


@pluginhost.on("hostile.cancelled")
def cancelled_handler(event):
    raise pluginhost.Cancelled("raised by the handler itself")


@pluginhost.on("hostile.memoryerror")
def memory_handler(event):
    bytearray(1 << 62)


@pluginhost.on("hostile.async-systemexit")
async def async_exit_handler(event):
    raise SystemExit(2)


@pluginhost.on("hostile.async-keyboardinterrupt")
async def async_interrupt_handler(event):
    raise KeyboardInterrupt


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
