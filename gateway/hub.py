"""Hub: this node's sockets by order. Local delivery only; knows nothing of Redis or SMS."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec

from gateway.broker.base import Broker, Resubscribed
from gateway.channels import order_channel
from gateway.messages import ChannelHeader, decode_header
from gateway.store.records import OrderRecord

log = logging.getLogger("gateway.hub")

# A note on an order's channel for the hubs alone (gateway.order_changes): the order's record
# changed, so drop the copy. Status frames say so too. A message decided on a copy the note
# has not reached yet is not stored (the record's version is checked as it is appended) and
# is decided again on the record (Session, ChatLog.append).
CHANGED = "changed"
ORDER_MAX_AGE = 5.0  # seconds a copy is trusted without a note (in case a note was lost)


class Sink(Protocol):
    """One socket's view of the hub. Both calls must not block: they queue."""

    def deliver(self, header: ChannelHeader, payload: bytes) -> None: ...

    def resync(self, order_id: str) -> None:
        """The node's subscription was re-established: frames may have been missed."""
        ...


class _Room:
    __slots__ = ("sinks", "live", "pump", "order", "order_at", "generation")

    def __init__(self) -> None:
        self.sinks: set[Sink] = set()
        self.live: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pump: asyncio.Task[None] | None = None
        self.order: OrderRecord | None = None  # this node's copy of the order's record
        self.order_at = 0.0
        self.generation = 0  # bumped whenever the copy is dropped

    def forget_order(self) -> None:
        self.order = None
        self.generation += 1


class Hub:
    """Holds one broker subscription per order that has a socket on this node, shared by all
    of that order's sockets here (reference-counted: the last socket to leave ends it), and
    hands every frame on it to those sockets. Frames published on this node come back
    through the broker like any other, so there is one delivery path."""

    def __init__(
        self, broker: Broker, *, cache_orders: bool = False, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._broker = broker
        self._rooms: dict[str, _Room] = {}
        self._cache_orders = cache_orders  # only where every record write is announced
        self._monotonic = monotonic

    @property
    def orders(self) -> int:
        return len(self._rooms)

    @property
    def attachments(self) -> int:
        """Socket-order attachments on this node (a leak check: 0 once every socket left)."""
        return sum(len(room.sinks) for room in self._rooms.values())

    async def join(self, order_id: str, sink: Sink) -> None:
        """Routes the order's frames to `sink` until `leave`; returns once the subscription is
        live. Raises what the broker raises when it cannot subscribe (the sink is then not
        joined). A plain call, not a context: a socket following an order costs one set entry."""
        room = self._rooms.get(order_id)
        if room is None:
            room = self._rooms[order_id] = _Room()
            room.pump = asyncio.create_task(self._pump(order_id, room), name=f"hub:{order_id}")
        room.sinks.add(sink)
        try:
            await asyncio.shield(room.live)
        except BaseException:
            self._discard(order_id, room, sink)
            raise

    def leave(self, order_id: str, sink: Sink) -> None:
        """Stops routing the order's frames to `sink`; the last sink to leave ends the
        subscription."""
        room = self._rooms.get(order_id)
        if room is not None:
            self._discard(order_id, room, sink)

    def _discard(self, order_id: str, room: _Room, sink: Sink) -> None:
        room.sinks.discard(sink)
        if not room.sinks and self._rooms.get(order_id) is room:
            del self._rooms[order_id]
            if room.pump is not None:
                room.pump.cancel()

    def forget_order(self, order_id: str) -> None:
        """Drops this node's copy of the order's record: it was found behind the record."""
        room = self._rooms.get(order_id)
        if room is not None:
            room.forget_order()

    async def order(
        self, order_id: str, load: Callable[[str], Awaitable[OrderRecord | None]]
    ) -> OrderRecord | None:
        """The order's record: this node's copy while the order has a live subscription here
        (every change to it is announced on that subscription), else `load`'s answer."""
        room = self._rooms.get(order_id)
        if not self._cache_orders or room is None or not room.live.done() or room.live.cancelled():
            return await load(order_id)
        now = self._monotonic()
        if room.order is not None and now - room.order_at < ORDER_MAX_AGE:
            return room.order
        generation = room.generation
        order = await load(order_id)
        # Kept only if no change was announced while it was read: else it may be the old one.
        if order is not None and room.generation == generation and self._rooms.get(order_id) is room:
            room.order, room.order_at = order, now
        return order

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
            room.forget_order()  # changes may have been announced meanwhile
            for sink in list(room.sinks):
                sink.resync(order_id)
            return
        try:
            header = decode_header(payload)
        except msgspec.DecodeError:
            log.error("dropped an undecodable frame on an order channel")
            return
        if header.type in (CHANGED, "status"):
            room.forget_order()
            if header.type == CHANGED:
                return
        for sink in list(room.sinks):
            sink.deliver(header, payload)
