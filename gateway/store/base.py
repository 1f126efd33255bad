"""The OrderStore seam: orders and what hangs off a phone, behind one async protocol. An
order's chat is the ChatLog's (gateway/chatlog)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import msgspec

from gateway.jobs.debts import Debt
from gateway.sms.base import StatusReport
from gateway.store.records import Block, OrderRecord, TextRef

T = TypeVar("T")


class OrderNotFound(LookupError):
    pass


class StoreUnavailable(ConnectionError):
    """The store cannot be reached right now (e.g. Redis is down)."""


class Owing(msgspec.Struct, frozen=True):
    """What an order update owes, written in the update's own atomic step: jobs for the
    order's outbox (gateway/jobs/outbox.py), and its expiry when it closes."""

    debts: tuple[Debt, ...] = ()
    expire_after: float | None = None  # seconds: every key of the order, as `expire_order`


class OrderStore(Protocol):
    """Order records, phone blocks and routes, text references, webhook dedupe.

    Guarantees every implementation keeps:
    - `update_order` is atomic per order: `change` sees the current record and its result is
      written only if nobody wrote in between (it may run again, so it must be pure), with
      what it owes (`Owing`) in the same step.
    - A status report for a text not linked yet is kept (`keep_status`) until `link_text`
      links it, which hands it over; pairing the two is atomic, so none falls between.
    - After `expire_order(id, ttl)` every key of that order, its chat log's too, disappears
      after ttl seconds, at one instant.
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
        self,
        order_id: str,
        change: Callable[[OrderRecord], tuple[OrderRecord | None, T]],
        owing: Callable[[T], Owing] | None = None,
    ) -> T:
        """Applies `change` atomically; a None record means "write nothing". When it writes,
        `owing(result)` says what the change owes, written with it. Raises OrderNotFound."""
        ...

    async def expire_order(self, order_id: str, ttl: float) -> None: ...

    async def orders_of_phone(self, phone: str) -> list[OrderRecord]:
        """Every order of this phone still kept, oldest first."""
        ...

    # phones
    async def set_route(self, phone: str, sender: str, order_id: str) -> None:
        """Marks `order_id` as this phone's most recently active order on `sender`."""
        ...

    async def orders_and_route(self, phone: str, sender: str) -> tuple[list[OrderRecord], str | None]:
        """What an inbound text is routed by, read together: every order of this phone still
        kept, oldest first (as orders_of_phone), and the one of them most recently active on
        `sender` (None when there is none)."""
        ...

    async def set_blocked(self, phone: str, sender: str | None, blocked: bool) -> None:
        """sender None: the keyword block (every sender); else the block of one sender."""
        ...

    async def block(self, phone: str, sender: str) -> Block: ...

    # texts
    async def first_sight(self, key: str, ttl: float) -> bool:
        """True the first time `key` is seen within ttl seconds (webhook dedupe)."""
        ...

    async def link_text(self, sid: str, ref: TextRef, ttl: float) -> list[StatusReport]:
        """Links a sent text's sid to what it carried; returns the status reports that came
        for this sid before it was linked (kept by `keep_status`), oldest first, and forgets
        them."""
        ...

    async def keep_status(self, sid: str, report: StatusReport, ttl: float) -> TextRef | None:
        """The text this sid carried, when linked; else keeps `report` for `ttl` seconds, for
        `link_text` to hand over, and returns None."""
        ...

    async def text_ref(self, sid: str) -> TextRef | None: ...
