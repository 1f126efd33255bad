"""Who is calling: the operator, a retailer, or a customer holding an order's token."""

from __future__ import annotations

import hmac
from enum import StrEnum

import msgspec
from starlette.requests import HTTPConnection

from gateway.tokens import TokenError


class Kind(StrEnum):
    OPERATOR = "operator"
    RETAILER = "retailer"
    CUSTOMER = "customer"


class Principal(msgspec.Struct, frozen=True):
    kind: Kind
    subject: str = ""  # retailer key, or the customer token's order id


def bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate(conn: HTTPConnection) -> Principal | None:
    """The caller named by `Authorization: Bearer <key or customer token>` (or, for a customer,
    `?token=`), or None."""
    state = conn.state
    presented = bearer(conn)
    if presented is not None:
        if hmac.compare_digest(presented.encode(), state.settings.gateway.operator_key.encode()):
            return Principal(Kind.OPERATOR)
        retailer = state.settings.retailer_for_key(presented)
        if retailer is not None:
            return Principal(Kind.RETAILER, retailer)
    token = presented or conn.query_params.get("token")
    if token:
        try:
            return Principal(Kind.CUSTOMER, state.tokens.verify(token, "c", state.clock()))
        except TokenError:
            return None
    return None
