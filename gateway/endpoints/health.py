"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.endpoints.auth import bearer
from gateway.endpoints.errors import error


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the store and the broker answer (always, in embedded mode)."""
    try:
        store_ok, broker_ok = await asyncio.wait_for(
            asyncio.gather(request.state.store.ping(), request.state.broker.ping()), timeout=2
        )
    except (TimeoutError, ConnectionError, OSError):
        store_ok = broker_ok = False
    ok = store_ok and broker_ok
    body = {"status": "ok" if ok else "unavailable", "store": store_ok, "broker": broker_ok}
    return JSONResponse(body, status_code=200 if ok else 503)


async def metrics(request: Request) -> Response:
    """Prometheus text; with `metrics_key` set, only for `Authorization: Bearer <metrics_key>`."""
    key = request.state.settings.gateway.metrics_key
    if key and not hmac.compare_digest((bearer(request) or "").encode(), key.encode()):
        denied = error(401, "unauthorized", "expected Authorization: Bearer <metrics_key>")
        denied.headers["WWW-Authenticate"] = "Bearer"
        return denied
    return Response(request.state.metrics.render(), media_type="text/plain; version=0.0.4")


routes = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
]
