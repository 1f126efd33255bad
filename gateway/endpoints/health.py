"""GET /healthz, /readyz and /metrics (contract section 2)."""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway import callbacks, mms, texting
from gateway.endpoints.auth import bearer
from gateway.endpoints.errors import error_response

JOB_KINDS = (texting.KIND, callbacks.KIND, mms.KIND)

if TYPE_CHECKING:
    from gateway.services import Services


class Health:
    def __init__(self, services: Services) -> None:
        self._services = services

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/metrics", self.metrics),
        ]

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """Ready when the store and the broker answer (always, in embedded mode)."""
        try:
            store_ok, broker_ok = await asyncio.wait_for(
                asyncio.gather(self._services.store.ping(), self._services.broker.ping()), timeout=2
            )
        except (TimeoutError, ConnectionError, OSError):
            store_ok = broker_ok = False
        ok = store_ok and broker_ok
        body = {"status": "ok" if ok else "unavailable", "store": store_ok, "broker": broker_ok}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(self, request: Request) -> Response:
        """Prometheus text; with `metrics_key` set, only for `Authorization: Bearer <metrics_key>`."""
        key = self._services.settings.gateway.metrics_key
        if key and not hmac.compare_digest((bearer(request) or "").encode(), key.encode()):
            denied = error_response(401, "unauthorized", "expected Authorization: Bearer <metrics_key>")
            denied.headers["WWW-Authenticate"] = "Bearer"
            return denied
        metrics = self._services.metrics
        try:
            metrics.redis_up.set(1 if await asyncio.wait_for(self._services.store.ping(), timeout=1) else 0)
        except (TimeoutError, ConnectionError, OSError):
            metrics.redis_up.set(0)
        try:
            for kind in JOB_KINDS:
                metrics.job_depth.labels(kind).set(await asyncio.wait_for(self._services.jobs.depth(kind), timeout=1))
        except (TimeoutError, ConnectionError, OSError):
            pass  # Redis is down: redis_up says so; the depths keep their last values
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")
