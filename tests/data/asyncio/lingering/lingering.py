"""Fixture: async on_load()/on_unload(); leaves tasks running when it unloads, one of which refuses to stop."""
import asyncio
import os

import pluginhost

background = set()


def note(text):
    with open(os.path.join(pluginhost.info.data_dir, "notes.txt"), "a", encoding="utf-8") as notes:
        notes.write(text + "\n")


async def polite():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        note("polite task cancelled")
        raise


async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            note("stubborn task ignores the cancel")


@pluginhost.export
async def start(stubborn_too):
    await asyncio.to_thread(sum, [1, 2])  # leaves the default executor's worker thread behind
    for coroutine in [polite()] + ([stubborn()] if stubborn_too else []):
        task = asyncio.get_running_loop().create_task(coroutine)
        background.add(task)
    return len(background)


@pluginhost.export
async def waiting():
    await asyncio.sleep(3600)


async def on_load():
    await asyncio.sleep(0.01)
    note("on_load awaited")


async def on_unload():
    await asyncio.sleep(0.01)
    note("on_unload awaited")
    return {"tasks": len(background)}
