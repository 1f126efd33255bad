"""The Broker seam: how a frame published on one node reaches the sockets on every node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Resubscribed:
    """Handed to a subscriber in place of a payload when its subscription was re-established
    after an interruption: payloads may have been missed, so catch up from the chat log."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RESUBSCRIBED"


RESUBSCRIBED = Resubscribed()


class BrokerUnavailable(ConnectionError):
    """The broker cannot publish right now (e.g. Redis is down)."""


class Broker(Protocol):
    """Carries payloads between gateway nodes.

    - At-most-once, ordered per channel per publisher. A subscriber that was disconnected
      (a Redis outage) misses what was published meanwhile; the order's history in the Store
      is the record, and the hub fills such gaps from it.
    - The publishing node receives its own payloads too, so local delivery has exactly one
      path: broker -> hub -> sockets.
    - `subscribe` returns only once the subscription is live: anything published after the
      `async with` body starts is delivered to it.
    - Leaving the `async with` unsubscribes, whatever the reason.
    - `RESUBSCRIBED` in place of a payload tells a subscriber that its subscription was
      re-established after an interruption, so payloads may have been missed.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """Whether the broker can publish right now (for /readyz)."""
        ...

    async def publish(self, channel: str, payload: bytes) -> None:
        """Raises BrokerUnavailable when the payload cannot be handed over."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes | Resubscribed]]: ...
