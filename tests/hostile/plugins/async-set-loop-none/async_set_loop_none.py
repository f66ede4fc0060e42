"""Unsets the event loop and installs a policy that refuses to make one."""
import asyncio
import warnings

import pluginhost


class RefusingPolicy(asyncio.DefaultEventLoopPolicy):
    def get_event_loop(self):
        raise RuntimeError("hostile policy: no loop")

    def new_event_loop(self):
        raise RuntimeError("hostile policy: no new loop")


@pluginhost.export
def unset_loop():
    asyncio.set_event_loop(None)
    return "unset"


@pluginhost.export
def refuse_loops():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        asyncio.set_event_loop_policy(RefusingPolicy())
    return "refusing"


@pluginhost.export
async def alive_async():
    await asyncio.sleep(0)
    return "alive"


@pluginhost.export
def alive():
    """Answers: the plugin still works."""
    return "alive"
