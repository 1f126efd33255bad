"""The HTTP API of contract section 4."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.clock import iso
from gateway.endpoints.auth import Kind, Principal, authenticate
from gateway.endpoints.errors import error, from_decode_error, invalid
from gateway.orders import Conflict, ConsentRefusedError, InvalidField
from gateway.policy.consent import ConsentSource
from gateway.schemas import SHOPPER_ID, CreateOrder, MessagesPage, PostEvent, SetSMS, ShopperToken
from gateway.store.base import OrderNotFound
from gateway.store.records import OrderRecord
from gateway.tokens import SHOPPER_TTL

MAX_PAGE = 1000
MAX_BODY = 64 * 1024  # bytes; an order or an event is a few hundred


def _json(value: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


class _Denied(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _require(request: Request, *kinds: Kind) -> Principal:
    principal = authenticate(request)
    if principal is None:
        raise _Denied(error(401, "unauthorized", "expected Authorization: Bearer <key>"))
    if principal.kind not in kinds:
        raise _Denied(error(403, "forbidden", f"the {principal.kind} key cannot make this call"))
    return principal


async def _order_for(request: Request, principal: Principal) -> OrderRecord:
    """The order in the path, if this caller may see it; another retailer's order is 404."""
    order_id = request.path_params["order_id"]
    order = await request.state.store.get_order(order_id)
    visible = order is not None and (
        principal.kind is Kind.OPERATOR
        or (principal.kind is Kind.RETAILER and order.retailer == principal.subject)
        or (principal.kind is Kind.CUSTOMER and order.id == principal.subject)
    )
    if not visible:
        raise _Denied(error(404, "not_found", f"no order {order_id!r}"))
    return order


async def _body(request: Request, schema: type):
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise _Denied(error(413, "too_large", f"expected a body of at most {MAX_BODY} bytes"))
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.DecodeError as exc:
        raise _Denied(from_decode_error(exc)) from None
    except UnicodeDecodeError as exc:  # msgspec raises it for bytes that are not UTF-8
        raise _Denied(invalid("body", f"expected UTF-8 JSON: {exc.reason} at byte {exc.start}")) from None


def _guarded(handler):
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except _Denied as denied:
            return denied.response
        except InvalidField as exc:
            return invalid(exc.field, exc.problem)
        except OrderNotFound:
            return error(404, "not_found", f"no order {request.path_params.get('order_id')!r}")

    endpoint.__name__ = handler.__name__
    return endpoint


@_guarded
async def create_order(request: Request) -> Response:
    principal = _require(request, Kind.RETAILER)
    body = await _body(request, CreateOrder)
    try:
        view, created = await request.state.orders.create(principal.subject, body)
    except Conflict as conflict:
        differ = dict.fromkeys(conflict.fields, "differs from the order as created")
        named = ", ".join(conflict.fields)
        return error(409, "conflict", f"order {body.id!r} exists with other values for: {named}", differ)
    return _json(view, 201 if created else 200)


@_guarded
async def get_order(request: Request) -> Response:
    principal = _require(request, Kind.RETAILER, Kind.OPERATOR)
    return _json(request.state.orders.view(await _order_for(request, principal)))


@_guarded
async def post_event(request: Request) -> Response:
    principal = _require(request, Kind.RETAILER, Kind.OPERATOR)
    order = await _order_for(request, principal)
    body = await _body(request, PostEvent)
    return _json(await request.state.orders.apply_event(order.id, body))


@_guarded
async def set_sms(request: Request) -> Response:
    principal = _require(request, Kind.OPERATOR, Kind.CUSTOMER)
    order = await _order_for(request, principal)
    body = await _body(request, SetSMS)
    source = ConsentSource.SUPPORT if principal.kind is Kind.OPERATOR else ConsentSource.CUSTOMER
    try:
        return _json(await request.state.orders.set_consent(order.id, body.opt_in, source))
    except ConsentRefusedError as refused:
        return error(409, refused.code, str(refused))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise _Denied(invalid(name, f"expected a whole number from {low} to {high}, got {raw!r}"))
    return value


@_guarded
async def list_messages(request: Request) -> Response:
    principal = _require(request, Kind.RETAILER, Kind.OPERATOR, Kind.CUSTOMER)
    order = await _order_for(request, principal)
    after = _int_param(request, "after", 0, 0, 2**53)
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
    store = request.state.store
    page = await store.messages(order.id, after, limit)
    return _json(MessagesPage(messages=page, last_seq=await store.last_seq(order.id)))


@_guarded
async def mint_shopper_token(request: Request) -> Response:
    _require(request, Kind.OPERATOR)
    shopper_id = request.path_params["shopper_id"]
    if not SHOPPER_ID.fullmatch(shopper_id):
        # The same rule as an event's shopper.id: a token for any other id could join nothing.
        return invalid("shopper_id", f"expected 1-128 letters, digits or ._:- , got {shopper_id!r}")
    expires_at = int(request.state.clock()) + SHOPPER_TTL
    token = request.state.tokens.mint("s", shopper_id, expires_at)
    return _json(ShopperToken(token=token, expires_at=iso(expires_at)), 201)


routes = [
    Route("/v1/orders", create_order, methods=["POST"]),
    Route("/v1/orders/{order_id}", get_order, methods=["GET"]),
    Route("/v1/orders/{order_id}/events", post_event, methods=["POST"]),
    Route("/v1/orders/{order_id}/sms", set_sms, methods=["PUT"]),
    Route("/v1/orders/{order_id}/messages", list_messages, methods=["GET"]),
    Route("/v1/shoppers/{shopper_id}/tokens", mint_shopper_token, methods=["POST"]),
]
