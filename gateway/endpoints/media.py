"""Photos over HTTP (contract section 10): `POST /v1/orders/{id}/media` takes one from the
order's customer or its shopper; `GET /media/{id}?sig=…` serves it to whoever holds a link."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.endpoints.auth import bearer
from gateway.endpoints.errors import ApiError, json_response
from gateway.media.checks import MediaType, declared_type
from gateway.media.photos import MediaTooLarge, UnsupportedMedia
from gateway.media.urls import LinkError
from gateway.policy.chat import Role, may_join, send_error
from gateway.schemas import MediaUploaded
from gateway.store.records import OrderRecord

if TYPE_CHECKING:
    from gateway.services import Services

# A served photo is only ever an image to look at: the browser must not guess another type
# (nosniff), nor run anything in it were it opened as a document (the sandboxed CSP).
SERVED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
ACCEPTED = ", ".join(t.value for t in MediaType)


class MediaEndpoints:
    def __init__(self, services: Services) -> None:
        self._services = services

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/orders/{order_id}/media", self.upload, methods=["POST"]),
            Route("/media/{media_id}", self.serve, methods=["GET"]),
        ]

    async def _uploader_order(self, request: Request) -> OrderRecord:
        """The order in the path, when the bearer is its customer's token or a token of the
        shopper assigned to it."""
        services = self._services
        token = bearer(request)
        if token is None:
            raise ApiError(401, "unauthorized", "expected Authorization: Bearer <customer or shopper token>")
        now = services.clock()
        role, subject = Role.CUSTOMER, services.tokens.subject(token, Role.CUSTOMER, now)
        if subject is None:
            role, subject = Role.SHOPPER, services.tokens.subject(token, Role.SHOPPER, now)
        if subject is None:
            raise ApiError(401, "unauthorized", "expected a valid customer or shopper token")
        order_id = request.path_params["order_id"]
        order = await services.store.get_order(order_id)
        if order is None or (role is Role.CUSTOMER and subject != order_id):
            raise ApiError(404, "not_found", f"no order {order_id!r}")
        if not may_join(role, subject, order.id, order.shopper.id if order.shopper else None):
            raise ApiError(403, "forbidden", f"order {order_id!r} is not assigned to this shopper")
        return order

    async def upload(self, request: Request) -> Response:
        services = self._services
        order = await self._uploader_order(request)
        state = services.orders.chat_state(order)
        refused = send_error(state)
        if refused is not None:
            raise ApiError(409, refused.value, f"expected an open chat to add a photo to, but it is {state.value}")
        declared = declared_type(request.headers.get("content-type"))
        if declared is None:
            got = request.headers.get("content-type") or "none"
            raise ApiError(415, "unsupported_media_type", f"expected Content-Type {ACCEPTED}, got {got}")
        data = await self._read_capped(request, services.settings.limits.media_bytes)
        try:
            photo = await services.photos.add(order.id, declared, data)
        except UnsupportedMedia as exc:
            raise ApiError(415, "unsupported_media_type", str(exc)) from None
        except MediaTooLarge as exc:
            raise ApiError(413, "too_large", str(exc)) from None
        return json_response(MediaUploaded(media_id=photo.id, content_type=photo.content_type, bytes=len(photo.data)), 201)

    @staticmethod
    async def _read_capped(request: Request, cap: int) -> bytes:
        """The body, never holding more than `cap` bytes of it: 413 as soon as it is larger."""
        too_large = ApiError(413, "too_large", f"expected a photo of at most {cap} bytes")
        declared_length = request.headers.get("content-length", "")
        if declared_length.isdigit() and int(declared_length) > cap:
            raise too_large
        body = bytearray()
        async for chunk in request.stream():
            if len(body) + len(chunk) > cap:
                raise too_large
            body += chunk
        return bytes(body)

    async def serve(self, request: Request) -> Response:
        services = self._services
        media_id = request.path_params["media_id"]
        try:
            order_id = services.media_links.verify(media_id, request.query_params.get("sig", ""), services.clock())
        except LinkError as exc:
            raise ApiError(403, "forbidden", f"expected a valid, unexpired signed link to this photo ({exc})") from None
        photo = await services.media.get(order_id, media_id)
        if photo is None:
            raise ApiError(404, "not_found", "this photo is gone (its order's chat was purged)")
        return Response(photo.data, media_type=photo.content_type, headers=SERVED_HEADERS)
