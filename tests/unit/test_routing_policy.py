"""Sender choice and inbound routing (contract section 5): each order keeps one number, no
two open orders of a phone share one, and a text goes to the order it is about."""

from __future__ import annotations

import msgspec
import pytest

from gateway.policy.lifecycle import Status
from gateway.policy.routing import pick_sender, route_inbound

POOL = ("+15005550006", "+15005550007", "+15005550008")
A, B, C = POOL


class Order(msgspec.Struct, frozen=True):
    id: str
    sender: str
    status: Status = Status.PICKING


@pytest.mark.parametrize(
    ("orders", "expected"),
    [
        ([], (A, False)),
        ([Order("o1", A)], (B, False)),
        ([Order("o1", A), Order("o2", B)], (C, False)),
        ([Order("o1", B)], (A, False)),
        ([Order("o1", A, Status.DELIVERED)], (A, False)),  # a closed order frees its number
        ([Order("o1", A, Status.CANCELED), Order("o2", B)], (A, False)),
        ([Order("o1", A), Order("o2", B), Order("o3", C)], (A, True)),  # all taken: share the first least used
        ([Order("o1", A), Order("o2", A), Order("o3", B), Order("o4", C)], (B, True)),
        ([Order("o1", A), Order("o2", B), Order("o3", C), Order("o4", B), Order("o5", A)], (C, True)),
    ],
)
def test_pick_sender(orders, expected):
    assert pick_sender(POOL, orders) == expected


@pytest.mark.parametrize(
    ("orders", "routed", "sender", "expected"),
    [
        ([], None, A, None),  # an unknown phone
        ([Order("o1", A)], None, A, "o1"),
        ([Order("o1", A)], "o1", A, "o1"),
        ([Order("o1", A), Order("o2", A)], "o1", A, "o1"),  # the route wins over the newest
        ([Order("o1", A), Order("o2", A)], None, A, "o2"),  # no route: the newest on the number
        ([Order("o1", A, Status.DELIVERED), Order("o2", A)], "o1", A, "o2"),  # routed closed, another open
        ([Order("o1", A, Status.DELIVERED)], "o1", A, "o1"),  # routed closed, nothing open: still it
        ([Order("o1", A), Order("o2", B)], None, B, "o2"),
        ([Order("o1", A), Order("o2", B)], "o1", B, "o1"),  # the phone's route on B points at o1
        ([Order("o1", A), Order("o2", A, Status.CANCELED)], None, A, "o1"),  # open before closed
        ([Order("o1", A), Order("o2", B)], None, C, "o2"),  # a number no order uses: the newest order
        ([Order("o1", A)], "gone", A, "o1"),  # a route to an order no longer kept
    ],
)
def test_route_inbound(orders, routed, sender, expected):
    assert route_inbound(orders, routed, sender) == expected
