"""Hub: this node's sockets by order. Local delivery only; knows nothing of Redis or SMS."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import msgspec

from gateway.broker.base import Broker, Resubscribed
from gateway.channels import order_channel
from gateway.messages import ChannelHeader, decode_header

log = logging.getLogger("gateway.hub")


class Sink(Protocol):
    """One socket's view of the hub. Both calls must not block: they queue."""

    def deliver(self, header: ChannelHeader, payload: bytes) -> None: ...

    def resync(self, order_id: str) -> None:
        """The node's subscription was re-established: frames may have been missed."""
        ...


class _Room:
    def __init__(self) -> None:
        self.sinks: set[Sink] = set()
        self.live: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pump: asyncio.Task[None] | None = None


class Hub:
    """Holds one broker subscription per order that has a socket on this node, shared by all
    of that order's sockets here (reference-counted: the last socket to leave ends it), and
    hands every frame on it to those sockets. Frames published on this node come back
    through the broker like any other, so there is one delivery path."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._rooms: dict[str, _Room] = {}

    @property
    def orders(self) -> int:
        return len(self._rooms)

    @property
    def attachments(self) -> int:
        """Socket-order attachments on this node (a leak check: 0 once every socket left)."""
        return sum(len(room.sinks) for room in self._rooms.values())

    @asynccontextmanager
    async def attach(self, order_id: str, sink: Sink) -> AsyncIterator[None]:
        """Routes the order's frames to `sink` while inside; returns once the subscription is
        live. Raises what the broker raises when it cannot subscribe."""
        room = self._rooms.get(order_id)
        if room is None:
            room = self._rooms[order_id] = _Room()
            room.pump = asyncio.create_task(self._pump(order_id, room), name=f"hub:{order_id}")
        room.sinks.add(sink)
        try:
            await asyncio.shield(room.live)
            yield
        finally:
            room.sinks.discard(sink)
            if not room.sinks and self._rooms.get(order_id) is room:
                del self._rooms[order_id]
                if room.pump is not None:
                    room.pump.cancel()

    async def _pump(self, order_id: str, room: _Room) -> None:
        try:
            async with self._broker.subscribe(order_channel(order_id)) as payloads:
                room.live.set_result(None)
                async for payload in payloads:
                    self._fan_out(order_id, room, payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not room.live.done():
                room.live.set_exception(exc)
            else:
                log.exception("subscription of an order ended")
            if self._rooms.get(order_id) is room:
                del self._rooms[order_id]
        finally:
            if not room.live.done():
                room.live.cancel()

    @staticmethod
    def _fan_out(order_id: str, room: _Room, payload: bytes | Resubscribed) -> None:
        if isinstance(payload, Resubscribed):
            for sink in list(room.sinks):
                sink.resync(order_id)
            return
        try:
            header = decode_header(payload)
        except msgspec.DecodeError:
            log.error("dropped an undecodable frame on an order channel")
            return
        for sink in list(room.sinks):
            sink.deliver(header, payload)
