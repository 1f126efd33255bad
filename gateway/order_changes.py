"""OrderChanges: an OrderStore that tells every node when an order's record changes, so a
node may keep the records of the orders its sockets follow (the hub's cache) and read Redis
once per change rather than once per chat message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from gateway.broker.base import Broker
from gateway.channels import order_channel
from gateway.hub import CHANGED
from gateway.store.base import OrderStore, Owing
from gateway.store.records import OrderRecord

log = logging.getLogger("gateway.store")

T = TypeVar("T")


class _Changed(msgspec.Struct, frozen=True, tag_field="type", tag=CHANGED):
    """Travels on the order's channel for the hubs alone; no socket is sent it."""

    order_id: str


_encode = msgspec.json.Encoder().encode


class OrderChanges:
    """Wraps the node's OrderStore: after every write to an order's record (an event, a
    consent change, its expiry) it publishes a `changed` note on the order's channel. The
    note is best effort: a hub that cannot be sure it heard every note (a resubscription)
    forgets its copies, and copies are re-read after a while anyway (`Hub.ORDER_MAX_AGE`)."""

    def __init__(self, store: OrderStore, broker: Broker) -> None:
        self._store = store
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)  # every read, and the phone-level writes, unchanged

    async def update_order(
        self,
        order_id: str,
        change: Callable[[OrderRecord], tuple[OrderRecord | None, T]],
        owing: Callable[[T], Owing] | None = None,
    ) -> T:
        wrote = False

        def noting(record: OrderRecord) -> tuple[OrderRecord | None, T]:
            nonlocal wrote
            updated, result = change(record)
            wrote = updated is not None  # the last run is the one that was written
            return updated, result

        result = await self._store.update_order(order_id, noting, owing)
        if wrote:
            await self._announce(order_id)
        return result

    async def expire_order(self, order_id: str, ttl: float) -> None:
        await self._store.expire_order(order_id, ttl)
        await self._announce(order_id)

    async def _announce(self, order_id: str) -> None:
        try:
            await self._broker.publish(order_channel(order_id), _encode(_Changed(order_id)))
        except ConnectionError as exc:  # the write stands; hubs re-read after ORDER_MAX_AGE
            log.warning("could not announce a change of an order (%s)", type(exc).__name__)
