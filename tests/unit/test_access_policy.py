"""Who may see an order through the HTTP API (contract section 4)."""

from __future__ import annotations

import pytest

from gateway.policy.access import Caller, Principal, may_see


@pytest.mark.parametrize(
    ("principal", "order_id", "retailer", "expected"),
    [
        (Principal(Caller.OPERATOR), "o1", "demo", True),
        (Principal(Caller.RETAILER, "demo"), "o1", "demo", True),
        (Principal(Caller.RETAILER, "other"), "o1", "demo", False),
        (Principal(Caller.CUSTOMER, "o1"), "o1", "demo", True),
        (Principal(Caller.CUSTOMER, "o2"), "o1", "demo", False),
        (Principal(Caller.CUSTOMER, "demo"), "o1", "demo", False),  # a token for an order named like a retailer
    ],
)
def test_may_see(principal, order_id, retailer, expected):
    assert may_see(principal, order_id, retailer) is expected
