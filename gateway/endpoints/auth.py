"""Who is calling an HTTP endpoint: the operator, a retailer, or a customer holding an order's
token (`Authorization: Bearer <key or token>`, or for a customer `?token=`)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.requests import HTTPConnection

from gateway.endpoints.errors import ApiError
from gateway.policy.access import Caller, Principal
from gateway.policy.chat import Role
from gateway.settings import Settings
from gateway.tokens import Tokens


def bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class Authenticator:
    def __init__(self, settings: Settings, tokens: Tokens, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._tokens = tokens
        self._clock = clock

    def principal(self, conn: HTTPConnection) -> Principal | None:
        """The caller the request names, or None."""
        presented = bearer(conn)
        if presented is not None:
            if hmac.compare_digest(presented.encode(), self._settings.gateway.operator_key.encode()):
                return Principal(Caller.OPERATOR)
            retailer = self._settings.retailer_for_key(presented)
            if retailer is not None:
                return Principal(Caller.RETAILER, retailer)
        token = presented or conn.query_params.get("token")
        order_id = self._tokens.subject(token, Role.CUSTOMER, self._clock()) if token else None
        return None if order_id is None else Principal(Caller.CUSTOMER, order_id)

    def require(self, conn: HTTPConnection, *kinds: Caller) -> Principal:
        """The caller, if it is one of `kinds`: else 401 (nobody) or 403 (the wrong one)."""
        principal = self.principal(conn)
        if principal is None:
            raise ApiError(401, "unauthorized", "expected Authorization: Bearer <key>")
        if principal.kind not in kinds:
            raise ApiError(403, "forbidden", f"the {principal.kind} key cannot make this call")
        return principal
