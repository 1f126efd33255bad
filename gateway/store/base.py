"""The Store seam: every piece of state the gateway keeps, behind one async protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from gateway.messages import ChatMessage
from gateway.store.records import Block, Draft, OrderRecord, TextRef

T = TypeVar("T")


class OrderNotFound(LookupError):
    pass


class StoreUnavailable(ConnectionError):
    """The store cannot be reached right now (e.g. Redis is down)."""


class Store(Protocol):
    """Orders, chat history, phone blocks and routes, text receipts.

    Guarantees every implementation keeps:
    - `update_order` is atomic per order: `change` sees the current record and its result is
      written only if nobody wrote in between (it may run again, so it must be pure).
    - `append_message` is atomic: the next seq (per order, from 1, no gaps), the message
      stored, its (sender, client_id) remembered so a retry returns the same message, and a
      `message` frame published on the order's broker channel, all before it returns.
    - `advance_text_state` likewise moves a text's state and publishes its receipt at once.
    - After `expire_order(id, ttl)` every key of that order disappears after ttl seconds.
    - Any method may raise StoreUnavailable.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    # orders
    async def create_order(self, order: OrderRecord) -> tuple[OrderRecord, bool]:
        """Stores `order` unless its id exists. Returns the stored record and whether it is new."""
        ...

    async def get_order(self, order_id: str) -> OrderRecord | None: ...

    async def update_order(
        self, order_id: str, change: Callable[[OrderRecord], tuple[OrderRecord | None, T]]
    ) -> T:
        """Applies `change` atomically; a None record means "write nothing". Raises OrderNotFound."""
        ...

    async def expire_order(self, order_id: str, ttl: float) -> None: ...

    async def orders_of_phone(self, phone: str) -> list[OrderRecord]:
        """Every order of this phone still kept, oldest first."""
        ...

    # phones
    async def set_route(self, phone: str, sender: str, order_id: str) -> None:
        """Marks `order_id` as this phone's most recently active order on `sender`."""
        ...

    async def route(self, phone: str, sender: str) -> str | None: ...

    async def set_blocked(self, phone: str, sender: str | None, blocked: bool) -> None:
        """sender None: the keyword block (every sender); else the block of one sender."""
        ...

    async def block(self, phone: str, sender: str) -> Block: ...

    # chat
    async def append_message(self, order_id: str, draft: Draft) -> tuple[ChatMessage, bool]:
        """Returns the stored message and whether it is new (False: a client_id retry)."""
        ...

    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        """Messages with seq > after, oldest first, at most `limit`."""
        ...

    async def last_seq(self, order_id: str) -> int: ...

    # texts
    async def first_sight(self, key: str, ttl: float) -> bool:
        """True the first time `key` is seen within ttl seconds (webhook dedupe)."""
        ...

    async def link_text(self, sid: str, ref: TextRef, ttl: float) -> None: ...

    async def text_ref(self, sid: str) -> TextRef | None: ...

    async def advance_text_state(self, order_id: str, seq: int, state: str) -> bool:
        """Moves a shopper message's SMS state forward only (queued < sent < delivered;
        undelivered, failed and not_sent are final) and, when it moves, publishes a `receipt`
        frame on the order's channel in the same step. Returns whether it moved."""
        ...
