"""POST /twilio/inbound and /twilio/status: verify Twilio's signature, parse, hand over, answer.

What a text means (dedupe, keywords, routing, chat) is the Inbound service's; what a receipt
means is the Texter's. Nothing is recorded for a request that is not signed by Twilio."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.endpoints.errors import ApiError
from gateway.sms.twilio import is_valid_signature, parse_inbound, parse_status, signed_url, twiml

if TYPE_CHECKING:
    from gateway.services import Services

log = logging.getLogger("gateway.twilio")

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FORM_BYTES = 64 * 1024  # Twilio's webhooks are a few kB; anything larger is not Twilio
TWIML = "text/xml"


async def _read_form(request: Request) -> FormData:
    """The url-encoded body, keeping blank values (Twilio signs them too) and repeated names."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ApiError(413, "too_large", f"expected a form of at most {MAX_FORM_BYTES} bytes")
    if content_type != "application/x-www-form-urlencoded":
        return FormData()
    return FormData(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class TwilioWebhooks:
    def __init__(self, services: Services) -> None:
        self._services = services

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/twilio/inbound", self.inbound, methods=["POST"]),
            Route("/twilio/status", self.status, methods=["POST"]),
        ]

    async def _verified_form(self, request: Request) -> FormData:
        """The form, when Twilio signed it; else 403."""
        form = await _read_form(request)
        settings = self._services.settings
        url = signed_url(settings.gateway.public_base_url, request.url.path, request.url.query)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not is_valid_signature(url, form, signature, settings.sms.twilio_auth_token):
            log.warning("%s: %s X-Twilio-Signature; refused", request.url.path, "bad" if signature else "missing")
            raise ApiError(
                403, "bad_signature", f"expected an {SIGNATURE_HEADER} header signing this request for {url}"
            )
        return form

    async def inbound(self, request: Request) -> Response:
        form = await self._verified_form(request)
        try:
            sms = parse_inbound(form)
        except ValueError as exc:
            raise ApiError(400, "bad_form", str(exc)) from None
        replies = await self._services.inbound.handle(sms)
        return Response(twiml(replies), media_type=TWIML)

    async def status(self, request: Request) -> Response:
        form = await self._verified_form(request)
        try:
            update = parse_status(form)
        except ValueError as exc:
            raise ApiError(400, "bad_form", str(exc)) from None
        await self._services.texter.on_status(update)
        return Response(twiml([]), media_type=TWIML)
