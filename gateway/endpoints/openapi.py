"""GET /openapi.json: the HTTP API described as OpenAPI 3.1 (built by gateway.openapi)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway import openapi
from gateway.settings import Settings


class OpenAPI:
    def __init__(self, settings: Settings) -> None:
        # Built once: it depends only on the code and the public URL.
        self._document = msgspec.json.encode(openapi.document(settings.gateway.public_base_url))

    def routes(self) -> list[BaseRoute]:
        return [Route("/openapi.json", self.openapi_json, methods=["GET"])]

    async def openapi_json(self, request: Request) -> Response:
        return Response(self._document, media_type="application/json")
