"""Builds the Starlette app: routes, lifespan, dependencies. No rules live here."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.endpoints.api import OrdersAPI
from gateway.endpoints.brand import Brand
from gateway.endpoints.chat import ChatSockets
from gateway.endpoints.cors import CrossOrigin
from gateway.endpoints.dev import DevConsole
from gateway.endpoints.embed import CORS_PATHS, Embed
from gateway.endpoints.errors import HANDLERS
from gateway.endpoints.health import Health
from gateway.endpoints.media import MediaEndpoints
from gateway.endpoints.openapi import OpenAPI
from gateway.endpoints.pages import Pages
from gateway.endpoints.twilio import TwilioWebhooks
from gateway.metrics import Metrics
from gateway.services import Services
from gateway.settings import Settings
from gateway.sms.console import ConsoleTransport
from gateway.chatlog.memory import MemoryChatLog
from gateway.media.memory import MemoryMediaStore
from gateway.store.memory import MemoryOrderStore

SWEEP_EVERY = 30.0  # seconds between purges of expired data in embedded mode


def create_app(settings: Settings, *, services: Services | None = None) -> Starlette:
    """The gateway as an ASGI app. `services` are built from `settings` unless given (tests
    build them with fakes: `Services.build(settings, sms=...)`); the lifespan starts them and
    closes them. Endpoints, sockets and middleware get them through their constructors."""
    services = services or Services.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for part in services.parts():
                await part.start()
                stack.push_async_callback(part.close)
            if isinstance(services.store, MemoryOrderStore) and isinstance(services.chat_log, MemoryChatLog):
                sweeper = asyncio.create_task(_sweep(services.store, services.chat_log, services.media))
                stack.callback(sweeper.cancel)
            yield

    sockets = ChatSockets(services)
    endpoints = [
        Health(services), OrdersAPI(services), OpenAPI(settings), TwilioWebhooks(services),
        Pages(services), Brand(settings), Embed(services),
    ]
    endpoints.append(MediaEndpoints(services))
    if settings.sms.provider == "console" and isinstance(services.sms, ConsoleTransport):
        endpoints.append(DevConsole(services, services.sms))
    app = _Gateway(
        sockets,
        routes=[route for endpoint in endpoints for route in endpoint.routes()],
        lifespan=lifespan,
        exception_handlers=HANDLERS,
    )
    app.add_middleware(CrossOrigin, origins=settings.gateway.allowed_origins, paths=CORS_PATHS)
    app.add_middleware(_Measure, metrics=services.metrics, routes=app.routes)
    return app


class _Gateway(Starlette):
    """Starlette, with the chat sockets answered before anything else (ChatSockets)."""

    def __init__(self, sockets: ChatSockets, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sockets = sockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        role = self.sockets.role_of(scope)
        if role is None:
            await super().__call__(scope, receive, send)
        else:
            await self.sockets.serve(scope, receive, send, role)


async def _sweep(store: MemoryOrderStore, log: MemoryChatLog, media: object) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        store.sweep()
        log.sweep()
        if isinstance(media, MemoryMediaStore):
            media.sweep()


class _Measure:
    """Counts HTTP responses by status and times them by route template, for /metrics (pure
    ASGI, so WebSockets pass untouched). The template, never the path: a path holds order ids."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        # The router leaves the matched endpoint in the scope; this names it by its template.
        self.templates: dict[object, str] = {}
        for route in routes:
            if isinstance(route, Route):
                self.templates[route.endpoint] = route.path
            elif isinstance(route, Mount):
                self.templates[route.app] = route.path + "/{path}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.http.labels(str(message["status"])).inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = self.templates.get(scope.get("endpoint"), "unmatched")
            self.metrics.http_seconds.labels(route, scope["method"]).observe(time.perf_counter() - started)
