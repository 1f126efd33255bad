"""A node stops even when the outbox drainer's Redis call swallows the cancel meant to stop it
(Python 3.11's wait_for can): the drainer's own flag ends its loop, and its close is bounded."""

from __future__ import annotations

import asyncio

from gateway.jobs.memory import MemoryJobQueue
from gateway.jobs.outbox import Drainer, MemoryOutbox


class SwallowingOutbox(MemoryOutbox):
    """An outbox whose `due` hangs, as a Redis call to a stalled server does, and, when
    cancelled, swallows the cancel and answers as if nothing had happened."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.entered = asyncio.Event()

    async def due(self, now: float, lease: float, limit: int) -> list[tuple[str, float]]:
        self.calls += 1
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass  # swallowed
        return []


async def test_a_drainer_whose_call_swallows_the_cancel_still_stops() -> None:
    outbox = SwallowingOutbox()
    drainer = Drainer(outbox, MemoryJobQueue(), {}, poll=0.01)
    await drainer.start()
    await asyncio.wait_for(outbox.entered.wait(), 5)

    await asyncio.wait_for(drainer.close(grace=5), 10)

    assert drainer._task is not None and drainer._task.done()
    assert outbox.calls == 1  # the loop did not go round again after the swallowed cancel
