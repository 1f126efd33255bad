"""The console-mode demo (contract section 8): `GET /dev` and the small JSON API its page uses
to create a demo order, act as its shopper and be its customer's phone.

Mounted only when `sms.provider = "console"`: it creates orders and reads texts without any
key, which is what a developer on their own machine wants and nobody else may have."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.endpoints.api import int_param
from gateway.endpoints.errors import ApiError, json_response, read_json
from gateway.endpoints.pages import WEB_DIR
from gateway.policy.lifecycle import Workflow
from gateway.schemas import CreateOrder, Customer, PostEvent, ShopperIn
from gateway.sms.base import InboundMedia, InboundSMS
from gateway.sms.console import ConsoleTransport

if TYPE_CHECKING:
    from gateway.services import Services

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
    sid: str | None = None  # the provider's message id; give one to replay a retried webhook
    media_urls: list[str] = []  # photos kept by POST /dev/api/phone/photos: an MMS


class Text(msgspec.Struct, frozen=True):
    n: int
    to: str
    sender: str
    body: str
    at: float
    media_urls: tuple[str, ...] = ()


class DevConsole:
    def __init__(self, services: Services, phone: ConsoleTransport) -> None:
        self._services = services
        self._phone = phone

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/dev", self.dev_page, methods=["GET"]),
            Route("/dev/api/demo", self.create_demo, methods=["POST"]),
            Route("/dev/api/orders/{order_id}/events", self.post_event, methods=["POST"]),
            Route("/dev/api/phone/texts", self.phone_texts, methods=["GET"]),
            Route("/dev/api/phone/reply", self.phone_reply, methods=["POST"]),
            Route("/dev/api/phone/photos", self.phone_photo, methods=["POST"]),
        ]

    async def dev_page(self, request: Request) -> Response:
        return FileResponse(WEB_DIR / "dev.html", headers={"Cache-Control": "no-store"})

    async def create_demo(self, request: Request) -> Response:
        services = self._services
        if not services.settings.retailers:
            raise ApiError(409, "no_retailer", "expected at least one [retailers.*] in the config")
        retailer_key = next(iter(services.settings.retailers))
        phone = "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))
        order = CreateOrder(
            id=f"demo-{secrets.token_hex(4)}",
            workflow=Workflow.DELIVERY,
            customer=Customer(phone=phone, name=CUSTOMER_NAME),
            sms_opt_in=True,
        )
        view, _ = await services.orders.create(retailer_key, order)
        record = await services.store.get_order(view.id)
        token, _ = services.tokens.shopper(SHOPPER_ID, services.clock())
        return json_response(
            {
                "order": view,
                "shopper_token": token,
                "shopper_id": SHOPPER_ID,
                "phone": phone,
                "sender": record.sender if record is not None else services.settings.sms.numbers[0],
            },
            201,
        )

    async def post_event(self, request: Request) -> Response:
        body = await read_json(request, EventIn)
        event = PostEvent(
            event_id=f"dev-{secrets.token_hex(8)}",
            event_name=body.event_name,
            shopper=ShopperIn(id=SHOPPER_ID, name=SHOPPER_NAME),
        )
        return json_response(await self._services.orders.apply_event(request.path_params["order_id"], event))

    async def phone_texts(self, request: Request) -> Response:
        after = int_param(request, "after", 0, 0, 2**53)
        entries = await self._phone.wait_since(after, timeout=LONG_POLL_SECONDS)
        return json_response({"texts": [Text(n=e.n, to=e.to, sender=e.sender, body=e.body, at=e.at, media_urls=e.media_urls) for e in entries]})

    async def phone_reply(self, request: Request) -> Response:
        body = await read_json(request, PhoneReply)
        text = InboundSMS(
            sid=body.sid or f"SMdev{secrets.token_hex(14)}", phone=body.phone, sender=body.sender, body=body.body,
            media=tuple(InboundMedia(url=url) for url in body.media_urls),
        )
        return json_response({"replies": list(await self._services.inbound.handle(text))})

    async def phone_photo(self, request: Request) -> Response:
        """A photo the phone attaches to its next text, kept as the provider would keep it:
        the MMS names its URL, and the gateway fetches and checks it like any MMS photo."""
        limit = self._services.settings.limits.media_bytes
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                raise ApiError(413, "too_large", f"expected a photo of at most {limit} bytes")
        content_type = request.headers.get("content-type", "")
        return json_response({"url": self._phone.keep_photo(content_type, bytes(data))}, 201)
