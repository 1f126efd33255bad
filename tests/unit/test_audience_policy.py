"""Who hears which frame on an order's channel (contract section 6)."""

from __future__ import annotations

import pytest

from gateway.policy.audience import hears
from gateway.policy.chat import Role

C, S = Role.CUSTOMER, Role.SHOPPER


@pytest.mark.parametrize(
    ("role", "frame", "sender", "by", "expected"),
    [
        (C, "message", None, None, True),
        (S, "message", None, None, True),
        (C, "status", None, None, True),
        (S, "status", None, None, True),
        (C, "typing", "shopper", None, True),
        (S, "typing", "shopper", None, False),  # not one's own typing
        (S, "typing", "customer", None, True),
        (C, "typing", "customer", None, False),
        (C, "read", None, "shopper", True),
        (C, "read", None, "customer", False),
        (S, "read", None, "customer", True),
        (S, "read", None, "shopper", False),
        (S, "receipt", None, None, True),  # SMS receipts are the shopper's
        (C, "receipt", None, None, False),
    ],
)
def test_hears(role, frame, sender, by, expected):
    assert hears(role, frame, sender, by) is expected
