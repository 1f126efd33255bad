"""MemoryOrderStore: the order store of embedded mode."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

import msgspec

from gateway.jobs.outbox import MemoryOutbox
from gateway.sms.base import StatusReport
from gateway.store.base import OrderNotFound, Owing
from gateway.store.records import Block, OrderRecord, TextRef

T = TypeVar("T")


class _Kept:
    __slots__ = ("record", "expires_at")

    def __init__(self, record: OrderRecord) -> None:
        self.record = record
        self.expires_at: float | None = None


class MemoryOrderStore:
    """Everything in this process's memory, lost on restart: one node, nothing to install.
    Single-threaded asyncio makes each method atomic. Expired orders are dropped when touched
    and by `sweep()`, which the app runs periodically; the memory chat log asks `alive` so it
    goes with them."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._orders: dict[str, _Kept] = {}
        self._phone_orders: dict[str, list[str]] = defaultdict(list)
        self._routes: dict[tuple[str, str], str] = {}
        self._keyword_blocks: set[str] = set()
        self._sender_blocks: set[tuple[str, str]] = set()
        self._seen: dict[str, float] = {}
        self._texts: dict[str, tuple[TextRef, float]] = {}
        self._early: dict[str, tuple[list[StatusReport], float]] = {}
        self.outbox = MemoryOutbox(clock)  # written with the record and the chat (jobs/outbox.py)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def ping(self) -> bool:
        return True

    def alive(self, order_id: str) -> bool:
        return self._kept(order_id) is not None

    def version_of(self, order_id: str) -> int | None:
        kept = self._kept(order_id)
        return None if kept is None else kept.record.version

    def _kept(self, order_id: str) -> _Kept | None:
        kept = self._orders.get(order_id)
        if kept is not None and kept.expires_at is not None and kept.expires_at <= self._clock():
            self._drop(order_id)
            return None
        return kept

    def _drop(self, order_id: str) -> None:
        kept = self._orders.pop(order_id, None)
        if kept is None:
            return
        self.outbox.drop(order_id)
        phone = kept.record.customer_phone
        ids = self._phone_orders.get(phone)
        if ids is not None and order_id in ids:
            ids.remove(order_id)
            if not ids:
                del self._phone_orders[phone]
        for key in [key for key, value in self._routes.items() if value == order_id]:
            del self._routes[key]

    def sweep(self) -> None:
        """Drops expired orders and markers."""
        now = self._clock()
        for order_id in [i for i, k in self._orders.items() if k.expires_at is not None and k.expires_at <= now]:
            self._drop(order_id)
        for key in [k for k, until in self._seen.items() if until <= now]:
            del self._seen[key]
        for sid in [s for s, (_, until) in self._texts.items() if until <= now]:
            del self._texts[sid]
        for sid in [s for s, (_, until) in self._early.items() if until <= now]:
            del self._early[sid]

    # orders
    async def create_order(self, order: OrderRecord) -> tuple[OrderRecord, bool]:
        existing = self._kept(order.id)
        if existing is not None:
            return existing.record, False
        self._orders[order.id] = _Kept(order)
        self._phone_orders[order.customer_phone].append(order.id)
        return order, True

    async def get_order(self, order_id: str) -> OrderRecord | None:
        kept = self._kept(order_id)
        return None if kept is None else kept.record

    async def update_order(
        self,
        order_id: str,
        change: Callable[[OrderRecord], tuple[OrderRecord | None, T]],
        owing: Callable[[T], Owing] | None = None,
    ) -> T:
        kept = self._kept(order_id)
        if kept is None:
            raise OrderNotFound(order_id)
        record, result = change(kept.record)
        if record is not None:
            kept.record = msgspec.structs.replace(record, version=kept.record.version + 1)
            owed = owing(result) if owing is not None else Owing()
            self.outbox.write(order_id, owed.debts)
            if owed.expire_after is not None:
                kept.expires_at = self._clock() + owed.expire_after
        return result

    async def expire_order(self, order_id: str, ttl: float) -> None:
        kept = self._kept(order_id)
        if kept is not None:
            kept.expires_at = self._clock() + ttl

    async def orders_of_phone(self, phone: str) -> list[OrderRecord]:
        kept = [self._kept(order_id) for order_id in list(self._phone_orders.get(phone, ()))]
        return sorted((k.record for k in kept if k is not None), key=lambda r: r.created_at)

    # phones
    async def set_route(self, phone: str, sender: str, order_id: str) -> None:
        self._routes[(phone, sender)] = order_id

    async def orders_and_route(self, phone: str, sender: str) -> tuple[list[OrderRecord], str | None]:
        orders = await self.orders_of_phone(phone)
        routed = self._routes.get((phone, sender))
        return orders, routed if any(order.id == routed for order in orders) else None

    async def set_blocked(self, phone: str, sender: str | None, blocked: bool) -> None:
        if sender is None:
            (self._keyword_blocks.add if blocked else self._keyword_blocks.discard)(phone)
        else:
            (self._sender_blocks.add if blocked else self._sender_blocks.discard)((phone, sender))

    async def block(self, phone: str, sender: str) -> Block:
        return Block(keyword=phone in self._keyword_blocks, sender=(phone, sender) in self._sender_blocks)

    # texts
    async def first_sight(self, key: str, ttl: float) -> bool:
        now = self._clock()
        until = self._seen.get(key)
        if until is not None and until > now:
            return False
        self._seen[key] = now + ttl
        return True

    async def link_text(self, sid: str, ref: TextRef, ttl: float) -> list[StatusReport]:
        self._texts[sid] = (ref, self._clock() + ttl)
        reports, until = self._early.pop(sid, ([], 0.0))
        return reports if until > self._clock() else []

    async def keep_status(self, sid: str, report: StatusReport, ttl: float) -> TextRef | None:
        ref = await self.text_ref(sid)
        if ref is not None:
            return ref
        reports, until = self._early.get(sid, ([], 0.0))
        if until <= self._clock():
            reports = []
        self._early[sid] = ([*reports, report], self._clock() + ttl)
        return None

    async def text_ref(self, sid: str) -> TextRef | None:
        found = self._texts.get(sid)
        return None if found is None or found[1] <= self._clock() else found[0]
