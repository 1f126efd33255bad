"""MemoryBroker: fan-out on asyncio queues within one process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class MemoryBroker:
    """The broker of embedded mode. It serves one node: every subscriber lives in this process,
    so a publish reaches them all, in order, before `publish` returns."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self._subscribers.clear()

    async def ping(self) -> bool:
        return True

    async def publish(self, channel: str, payload: bytes) -> None:
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(payload)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscribers[channel].add(queue)
        try:
            yield _drain(queue)
        finally:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[channel]


async def _drain(queue: asyncio.Queue[bytes]) -> AsyncIterator[bytes]:
    while True:
        yield await queue.get()
