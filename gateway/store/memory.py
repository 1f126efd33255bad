"""MemoryStore: the store of embedded mode."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar


from gateway import messages
from gateway.broker.base import Broker, order_channel
from gateway.messages import ChatMessage
from gateway.policy import receipts
from gateway.store.base import OrderNotFound
from gateway.store.records import Block, Draft, OrderRecord, TextRef

T = TypeVar("T")


class _OrderData:
    __slots__ = ("record", "messages", "by_client", "text_states", "expires_at")

    def __init__(self, record: OrderRecord) -> None:
        self.record = record
        self.messages: list[ChatMessage] = []
        self.by_client: dict[tuple[str, str], ChatMessage] = {}
        self.text_states: dict[int, str] = {}
        self.expires_at: float | None = None


class MemoryStore:
    """Everything in this process's memory, lost on restart: one node, nothing to install.
    Single-threaded asyncio makes each method atomic; `publish` to a MemoryBroker does not
    yield, so a message is published in seq order. Expired data is dropped when touched and by
    `sweep()`, which the app runs periodically."""

    def __init__(self, broker: Broker, clock: Callable[[], float] = time.time) -> None:
        self._broker = broker
        self._clock = clock
        self._orders: dict[str, _OrderData] = {}
        self._phone_orders: dict[str, list[str]] = defaultdict(list)
        self._routes: dict[tuple[str, str], str] = {}
        self._keyword_blocks: set[str] = set()
        self._sender_blocks: set[tuple[str, str]] = set()
        self._seen: dict[str, float] = {}
        self._texts: dict[str, tuple[TextRef, float]] = {}

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def ping(self) -> bool:
        return True

    def _data(self, order_id: str) -> _OrderData | None:
        data = self._orders.get(order_id)
        if data is not None and data.expires_at is not None and data.expires_at <= self._clock():
            self._drop(order_id)
            return None
        return data

    def _drop(self, order_id: str) -> None:
        data = self._orders.pop(order_id, None)
        if data is None:
            return
        phone = data.record.customer_phone
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
        for order_id in [i for i, d in self._orders.items() if d.expires_at is not None and d.expires_at <= now]:
            self._drop(order_id)
        for key in [k for k, until in self._seen.items() if until <= now]:
            del self._seen[key]
        for sid in [s for s, (_, until) in self._texts.items() if until <= now]:
            del self._texts[sid]

    # orders
    async def create_order(self, order: OrderRecord) -> tuple[OrderRecord, bool]:
        existing = self._data(order.id)
        if existing is not None:
            return existing.record, False
        self._orders[order.id] = _OrderData(order)
        self._phone_orders[order.customer_phone].append(order.id)
        return order, True

    async def get_order(self, order_id: str) -> OrderRecord | None:
        data = self._data(order_id)
        return None if data is None else data.record

    async def update_order(
        self, order_id: str, change: Callable[[OrderRecord], tuple[OrderRecord | None, T]]
    ) -> T:
        data = self._data(order_id)
        if data is None:
            raise OrderNotFound(order_id)
        record, result = change(data.record)
        if record is not None:
            data.record = record
        return result

    async def expire_order(self, order_id: str, ttl: float) -> None:
        data = self._data(order_id)
        if data is not None:
            data.expires_at = self._clock() + ttl

    async def orders_of_phone(self, phone: str) -> list[OrderRecord]:
        records = [self._data(order_id) for order_id in list(self._phone_orders.get(phone, ()))]
        return sorted((d.record for d in records if d is not None), key=lambda r: r.created_at)

    # phones
    async def set_route(self, phone: str, sender: str, order_id: str) -> None:
        self._routes[(phone, sender)] = order_id

    async def route(self, phone: str, sender: str) -> str | None:
        order_id = self._routes.get((phone, sender))
        return order_id if order_id is not None and self._data(order_id) is not None else None

    async def set_blocked(self, phone: str, sender: str | None, blocked: bool) -> None:
        target, key = (self._keyword_blocks, phone) if sender is None else (self._sender_blocks, (phone, sender))
        if blocked:
            target.add(key)  # type: ignore[arg-type]
        else:
            target.discard(key)  # type: ignore[arg-type]

    async def block(self, phone: str, sender: str) -> Block:
        return Block(keyword=phone in self._keyword_blocks, sender=(phone, sender) in self._sender_blocks)

    # chat
    async def append_message(self, order_id: str, draft: Draft) -> tuple[ChatMessage, bool]:
        data = self._data(order_id)
        if data is None:
            raise OrderNotFound(order_id)
        key = (draft.sender, draft.client_id) if draft.client_id is not None else None
        if key is not None and key in data.by_client:
            return data.by_client[key], False
        message = ChatMessage(
            seq=len(data.messages) + 1, id=draft.id, sender=draft.sender, via=draft.via,
            text=draft.text, at=draft.at, client_id=draft.client_id,
        )
        data.messages.append(message)
        if key is not None:
            data.by_client[key] = message
        frame = messages.encode(messages.MessageFrame(order_id=order_id, message=message))
        await self._broker.publish(order_channel(order_id), frame)
        return message, True

    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        data = self._data(order_id)
        if data is None:
            return []
        return data.messages[max(0, after) : max(0, after) + limit]

    async def last_seq(self, order_id: str) -> int:
        data = self._data(order_id)
        return 0 if data is None else len(data.messages)

    # texts
    async def first_sight(self, key: str, ttl: float) -> bool:
        now = self._clock()
        until = self._seen.get(key)
        if until is not None and until > now:
            return False
        self._seen[key] = now + ttl
        return True

    async def link_text(self, sid: str, ref: TextRef, ttl: float) -> None:
        self._texts[sid] = (ref, self._clock() + ttl)

    async def text_ref(self, sid: str) -> TextRef | None:
        found = self._texts.get(sid)
        return None if found is None or found[1] <= self._clock() else found[0]

    async def advance_text_state(self, order_id: str, seq: int, state: str) -> bool:
        data = self._data(order_id)
        if data is None or not receipts.advances(data.text_states.get(seq), state):
            return False
        data.text_states[seq] = state
        frame = messages.encode(messages.Receipt(order_id=order_id, seq=seq, sms=state))
        await self._broker.publish(order_channel(order_id), frame)
        return True



