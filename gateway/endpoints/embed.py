"""The embeddable element (contract section 8): `GET /embed.js` defines `<order-chat>`, which
a retailer puts on its own page (another origin). The element fetches the order's fragment
(`GET /embed/orders/{id}` with the customer token) and brings it to life with the same module
as the Order Status page (web/orderchat.js).

Only what the element needs answers CORS, and only for `allowed_origins`: see CORS_PATHS."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.endpoints import pages
from gateway.endpoints.auth import Authenticator
from gateway.endpoints.errors import ApiError
from gateway.policy.access import Caller

if TYPE_CHECKING:
    from gateway.services import Services

# The ES modules embed.js imports, directly or not (tests/e2e/test_embed_cors.py follows the
# imports and checks this list is whole).
MODULES = ("orderchat.js", "bubble.js", "photos.js", "proposals.js", "smsswitch.js", "socket.js", "time.js", "unread.js")

CORS_PATHS = (
    re.compile(r"/embed\.js"),
    *(re.compile(r"/static/" + re.escape(module)) for module in MODULES),
    re.compile(r"/embed/orders/[^/]+"),  # the fragment, with the customer token
    re.compile(r"/v1/orders/[^/]+/sms"),  # the SMS switch, with the customer token
    re.compile(r"/v1/orders/[^/]+/media"),  # attaching a photo, with the customer token
)

_FRAGMENT_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class Embed:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._auth = Authenticator(services.settings, services.tokens, services.clock)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/embed.js", self.embed_js, methods=["GET"]),
            Route("/embed/orders/{order_id}", self.order_fragment, methods=["GET"]),
        ]

    async def embed_js(self, request: Request) -> Response:
        return FileResponse(
            pages.WEB_DIR / "embed.js",
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def order_fragment(self, request: Request) -> Response:
        """The order as the page shows it, without the page around it, for `Authorization:
        Bearer <customer token>` of that order."""
        order_id = request.path_params["order_id"]
        principal = self._auth.principal(request)
        if principal is None or principal.kind is not Caller.CUSTOMER:
            raise ApiError(401, "unauthorized", "expected Authorization: Bearer <the order's customer token>")
        services = self._services
        record = await services.store.get_order(order_id) if principal.subject == order_id else None
        if record is None:
            raise ApiError(404, "not_found", f"no order {order_id!r}")
        fragment = pages.stylesheets(services.settings, record.retailer) + "\n" + pages.render_body(services, record)
        return HTMLResponse(fragment, headers=_FRAGMENT_HEADERS)
