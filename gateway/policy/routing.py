"""Which pool number an order texts from, and which order a customer's text is about.

A phone may have several orders at once; each keeps one sender number from the pool, chosen
so that no two open orders of the phone share it, and a text the phone sends to a number goes
to the order it concerns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.policy.lifecycle import FINAL, Status


class Routable(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def sender(self) -> str: ...

    @property
    def status(self) -> Status: ...


def pick_sender(pool: Sequence[str], phone_orders: Sequence[Routable]) -> tuple[str, bool]:
    """A pool number no open order of this phone uses; when every number is taken, the one
    fewest open orders share (the first such in pool order). Returns it and whether it is
    shared with another open order."""
    in_use = [order.sender for order in phone_orders if order.status not in FINAL]
    free = [number for number in pool if number not in in_use]
    if free:
        return free[0], False
    return min(pool, key=in_use.count), True


def route_inbound(phone_orders: Sequence[Routable], routed_id: str | None, sender: str) -> str | None:
    """The order (id) a text from a phone to our number `sender` is about. `phone_orders` are
    the phone's kept orders, oldest first; `routed_id` is the order most recently active on
    this number. That one, unless it is closed while another of the phone's orders on this
    number is open; failing it, the newest open order on this number, then the newest on this
    number, then the phone's newest order at all (None: the phone has none)."""
    on_number = [o for o in phone_orders if o.sender == sender]
    open_on_number = [o for o in on_number if o.status not in FINAL]
    routed = next((o for o in phone_orders if o.id == routed_id), None)
    if routed is not None and (routed.status not in FINAL or not open_on_number):
        return routed.id
    candidates = open_on_number or on_number or phone_orders
    return candidates[-1].id if candidates else None
