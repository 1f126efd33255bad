"""Who may see an order through the HTTP API: the operator any, a retailer its own, a
customer token only its one order. Another caller's order reads as "no such order"."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Caller(StrEnum):
    OPERATOR = "operator"
    RETAILER = "retailer"
    CUSTOMER = "customer"


class Principal(msgspec.Struct, frozen=True):
    kind: Caller
    subject: str = ""  # the retailer's config key, or the customer token's order id


def may_see(principal: Principal, order_id: str, order_retailer: str) -> bool:
    match principal.kind:
        case Caller.OPERATOR:
            return True
        case Caller.RETAILER:
            return order_retailer == principal.subject
        case Caller.CUSTOMER:
            return order_id == principal.subject
