"""The HTTP API of contract section 4."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.clock import iso
from gateway.endpoints.auth import Authenticator
from gateway.endpoints.errors import ApiError, invalid, json_response, read_json
from gateway.policy.access import Caller, Principal, may_see
from gateway.policy.consent import ConsentSource
from gateway.schemas import (
    SHOPPER_ID, ConsentLog, ConsentLogEntry, CreateOrder, MessagesPage, PostEvent, SetSMS, ShopperToken,
)
from gateway.store.records import OrderRecord

if TYPE_CHECKING:
    from gateway.services import Services

MAX_PAGE = 1000


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high]; 422 naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise invalid(name, f"expected a whole number from {low} to {high}, got {raw!r}")
    return value


class OrdersAPI:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._auth = Authenticator(services.settings, services.tokens, services.clock)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/orders", self.create_order, methods=["POST"]),
            Route("/v1/orders/{order_id}", self.get_order, methods=["GET"]),
            Route("/v1/orders/{order_id}/events", self.post_event, methods=["POST"]),
            Route("/v1/orders/{order_id}/sms", self.set_sms, methods=["PUT"]),
            Route("/v1/orders/{order_id}/messages", self.list_messages, methods=["GET"]),
            Route("/v1/orders/{order_id}/consent", self.get_consent, methods=["GET"]),
            Route("/v1/shoppers/{shopper_id}/tokens", self.mint_shopper_token, methods=["POST"]),
        ]

    async def _order_for(self, request: Request, principal: Principal) -> OrderRecord:
        """The order in the path, if this caller may see it; another retailer's order is 404."""
        order_id = request.path_params["order_id"]
        order = await self._services.store.get_order(order_id)
        if order is None or not may_see(principal, order.id, order.retailer):
            raise ApiError(404, "not_found", f"no order {order_id!r}")
        return order

    async def create_order(self, request: Request) -> Response:
        principal = self._auth.require(request, Caller.RETAILER)
        body = await read_json(request, CreateOrder)
        view, created = await self._services.orders.create(principal.subject, body)
        return json_response(view, 201 if created else 200)

    async def get_order(self, request: Request) -> Response:
        principal = self._auth.require(request, Caller.RETAILER, Caller.OPERATOR)
        return json_response(self._services.orders.view(await self._order_for(request, principal)))

    async def post_event(self, request: Request) -> Response:
        principal = self._auth.require(request, Caller.RETAILER, Caller.OPERATOR)
        order = await self._order_for(request, principal)
        body = await read_json(request, PostEvent)
        return json_response(await self._services.orders.apply_event(order.id, body))

    async def set_sms(self, request: Request) -> Response:
        principal = self._auth.require(request, Caller.OPERATOR, Caller.CUSTOMER)
        order = await self._order_for(request, principal)
        body = await read_json(request, SetSMS)
        source = ConsentSource.SUPPORT if principal.kind is Caller.OPERATOR else ConsentSource.CUSTOMER
        return json_response(await self._services.orders.set_consent(order.id, body.opt_in, source))

    async def list_messages(self, request: Request) -> Response:
        principal = self._auth.require(request, Caller.RETAILER, Caller.OPERATOR, Caller.CUSTOMER)
        order = await self._order_for(request, principal)
        after = int_param(request, "after", 0, 0, 2**53)
        limit = int_param(request, "limit", 100, 1, MAX_PAGE)
        page, last_seq = await self._services.chat_log.page(order.id, after, limit)
        return json_response(MessagesPage(messages=page, last_seq=last_seq))

    async def mint_shopper_token(self, request: Request) -> Response:
        self._auth.require(request, Caller.OPERATOR)
        shopper_id = request.path_params["shopper_id"]
        if not SHOPPER_ID.fullmatch(shopper_id):
            # The same rule as an event's shopper.id: a token for any other id could join nothing.
            raise invalid("shopper_id", f"expected 1-128 letters, digits or ._:- , got {shopper_id!r}")
        token, expires_at = self._services.tokens.shopper(shopper_id, self._services.clock())
        return json_response(ShopperToken(token=token, expires_at=iso(expires_at)), 201)

    async def get_consent(self, request: Request) -> Response:
        """The record a retailer shows to prove consent: every change, oldest first."""
        principal = self._auth.require(request, Caller.RETAILER, Caller.OPERATOR)
        order = await self._order_for(request, principal)
        changes = [ConsentLogEntry(at=iso(c.at), opt_in=c.opt_in, source=c.source) for c in order.consent_log]
        return json_response(ConsentLog(opt_in=order.consent.opt_in, source=order.consent.source, changes=changes))
