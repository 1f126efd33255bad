"""What the Redis brokers share: this node's subscribers of each channel, and `subscribe`
(one upstream subscription per channel, live before `subscribe` returns, dropped with its
last subscriber). How the upstream subscription is made is each broker's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from gateway.broker.base import RESUBSCRIBED, BrokerUnavailable, Resubscribed


class Subscribers:
    """The local subscribers of one channel, and whether the upstream confirmed it."""

    __slots__ = ("queues", "ready")

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[bytes | Resubscribed]] = set()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def deliver(self, payload: bytes) -> None:
        for queue in self.queues:
            queue.put_nowait(payload)

    def resubscribed(self) -> None:
        """Subscribed again after a gap: each subscriber catches up from the Store."""
        for queue in self.queues:
            queue.put_nowait(RESUBSCRIBED)


S = TypeVar("S", bound=Subscribers)


class FanOut(Generic[S]):
    """`subscribe` over the hooks `_entry` (a new channel's Subscribers), `_open` (send its
    upstream subscription) and `_close` (drop it once its last subscriber left)."""

    _command = "SUBSCRIBE"  # named in the error when the upstream does not confirm in time

    def __init__(self, confirm_timeout: float) -> None:
        self._confirm_timeout = confirm_timeout
        self._channels: dict[str, S] = {}

    def _entry(self) -> S:
        raise NotImplementedError

    async def _open(self, channel: str, entry: S) -> None:
        raise NotImplementedError

    async def _close(self, channel: str, entry: S) -> None:
        raise NotImplementedError

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[bytes | Resubscribed]]:
        queue: asyncio.Queue[bytes | Resubscribed] = asyncio.Queue()
        entry = self._channels.get(channel)
        if entry is None:
            entry = self._channels[channel] = self._entry()
            await self._open(channel, entry)
        entry.queues.add(queue)
        try:
            try:
                await asyncio.wait_for(asyncio.shield(entry.ready), self._confirm_timeout)
            except TimeoutError:
                raise BrokerUnavailable(
                    f"expected Redis to confirm {self._command} within {self._confirm_timeout}s, got no answer"
                ) from None
            yield _drain(queue)
        finally:
            entry.queues.discard(queue)
            if not entry.queues and self._channels.get(channel) is entry:
                del self._channels[channel]
                await self._close(channel, entry)


async def _drain(queue: asyncio.Queue[bytes | Resubscribed]) -> AsyncIterator[bytes | Resubscribed]:
    while True:
        yield await queue.get()
