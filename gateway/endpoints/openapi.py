"""GET /openapi.json: the HTTP API described as OpenAPI 3.1 (built by gateway.openapi)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import openapi


async def openapi_json(request: Request) -> Response:
    document = openapi.document(request.state.settings.gateway.public_base_url)
    return Response(msgspec.json.encode(document), media_type="application/json")


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
