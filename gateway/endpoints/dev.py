"""The console-mode demo (contract section 8): `GET /dev` and the small JSON API its page uses
to create a demo order, act as its shopper and be its customer's phone.

Mounted only when `sms.provider = "console"`: it creates orders and reads texts without any
key, which is what a developer on their own machine wants and nobody else may have."""

from __future__ import annotations

import secrets

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from gateway import tokens
from gateway.endpoints import errors
from gateway.endpoints.pages import WEB_DIR
from gateway.orders import InvalidField
from gateway.policy.lifecycle import Workflow
from gateway.schemas import CreateOrder, Customer, PostEvent, ShopperIn
from gateway.sms.base import InboundSMS
from gateway.store.base import OrderNotFound

SHOPPER_ID = "shopper-demo"
SHOPPER_NAME = "Alex"
CUSTOMER_NAME = "Sam"
LONG_POLL_SECONDS = 20


class EventIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    event_name: str


class PhoneReply(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    phone: str
    sender: str
    body: str


class Text(msgspec.Struct, frozen=True):
    n: int
    to: str
    sender: str
    body: str
    at: float


def _json(value: object, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code, media_type="application/json")


async def _body(request: Request, kind: type):
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except msgspec.DecodeError as exc:
        return errors.from_decode_error(exc)


async def dev_page(request: Request) -> Response:
    return FileResponse(WEB_DIR / "dev.html", headers={"Cache-Control": "no-store"})


async def create_demo(request: Request) -> Response:
    settings = request.state.settings
    if not settings.retailers:
        return errors.error(409, "no_retailer", "expected at least one [retailers.*] in the config")
    retailer_key = next(iter(settings.retailers))
    phone = "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))
    order = CreateOrder(
        id=f"demo-{secrets.token_hex(4)}",
        workflow=Workflow.DELIVERY,
        customer=Customer(phone=phone, name=CUSTOMER_NAME),
        sms_opt_in=True,
    )
    view, _ = await request.state.orders.create(retailer_key, order)
    record = await request.state.store.get_order(view.id)
    expires_at = int(request.state.clock()) + tokens.SHOPPER_TTL
    return _json(
        {
            "order": view,
            "shopper_token": request.state.tokens.mint("s", SHOPPER_ID, expires_at),
            "shopper_id": SHOPPER_ID,
            "phone": phone,
            "sender": record.sender if record is not None else settings.sms.numbers[0],
        },
        201,
    )


async def post_event(request: Request) -> Response:
    body = await _body(request, EventIn)
    if isinstance(body, Response):
        return body
    event = PostEvent(
        event_id=f"dev-{secrets.token_hex(8)}",
        event_name=body.event_name,
        shopper=ShopperIn(id=SHOPPER_ID, name=SHOPPER_NAME),
    )
    try:
        result = await request.state.orders.apply_event(request.path_params["order_id"], event)
    except InvalidField as exc:
        return errors.invalid(exc.field, exc.problem)
    except OrderNotFound:
        return errors.error(404, "not_found", "no such order (demo orders vanish on restart)")
    return _json(result)


async def phone_texts(request: Request) -> Response:
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        return errors.invalid("after", f"expected a text number, got {request.query_params['after']!r}")
    entries = await request.state.sms.wait_since(after, timeout=LONG_POLL_SECONDS)
    texts = [Text(n=e.n, to=e.to, sender=e.sender, body=e.body, at=e.at) for e in entries]
    return _json({"texts": texts})


async def phone_reply(request: Request) -> Response:
    body = await _body(request, PhoneReply)
    if isinstance(body, Response):
        return body
    text = InboundSMS(
        sid=f"SMdev{secrets.token_hex(14)}", phone=body.phone, sender=body.sender, body=body.body
    )
    replies = await request.state.inbound.handle(text)
    return _json({"replies": list(replies)})


routes = [
    Route("/dev", dev_page, methods=["GET"]),
    Route("/dev/api/demo", create_demo, methods=["POST"]),
    Route("/dev/api/orders/{order_id}/events", post_event, methods=["POST"]),
    Route("/dev/api/phone/texts", phone_texts, methods=["GET"]),
    Route("/dev/api/phone/reply", phone_reply, methods=["POST"]),
]
