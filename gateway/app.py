"""Builds the Starlette app: routes, lifespan, dependencies. No rules live here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import callbacks as callbacks_module
from gateway import texting
from gateway.broker.base import Broker, BrokerUnavailable
from gateway.broker.memory import MemoryBroker
from gateway.callbacks import Callbacks
from gateway.chat import Chat
from gateway.endpoints import api, brand, dev, embed, health, pages
from gateway.endpoints import chat as chat_endpoints
from gateway.endpoints import twilio as twilio_endpoints
from gateway.endpoints.cors import CrossOrigin
from gateway.endpoints.errors import error
from gateway.hub import Hub
from gateway.inbound import Inbound
from gateway.jobs.base import JobQueue
from gateway.jobs.memory import MemoryJobQueue
from gateway.jobs.worker import Worker
from gateway.metrics import Metrics
from gateway.orders import Orders
from gateway.settings import Settings
from gateway.sms.base import SMSTransport
from gateway.sms.console import ConsoleTransport
from gateway.store.base import Store, StoreUnavailable
from gateway.store.memory import MemoryStore
from gateway.texting import Texter
from gateway.tokens import Tokens

log = logging.getLogger("gateway")

SWEEP_EVERY = 30.0  # seconds between purges of expired data in embedded mode


def _broker(settings: Settings) -> Broker:
    if settings.gateway.embedded:
        return MemoryBroker()
    from gateway.broker.redis import RedisBroker

    return RedisBroker(settings.gateway.redis_url)


def _store(settings: Settings, broker: Broker, clock: Callable[[], float]) -> Store:
    if settings.gateway.embedded:
        return MemoryStore(broker, clock)  # publishes through the node's own broker
    from gateway.store.redis import RedisStore

    return RedisStore(settings.gateway.redis_url, clock=clock)  # publishes from its Lua script


def _jobs(settings: Settings) -> JobQueue:
    if settings.gateway.embedded:
        return MemoryJobQueue()
    from gateway.jobs.redis import RedisJobQueue

    return RedisJobQueue(settings.gateway.redis_url)


def _transport(settings: Settings) -> SMSTransport:
    if settings.sms.provider == "twilio":
        from gateway.sms.twilio import TwilioTransport

        return TwilioTransport(
            settings.sms.twilio_account_sid, settings.sms.twilio_auth_token, settings.sms.twilio_api_base
        )
    return ConsoleTransport()


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    broker: Broker | None = None,
    jobs: JobQueue | None = None,
    sms: SMSTransport | None = None,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The gateway as an ASGI app. Builds each dependency from `settings` unless one is
    injected (tests inject fakes), starts them in the lifespan and hands them to endpoints
    as lifespan state (`request.state.store`, `.orders`, ...). Once started, the running
    services are also at `app.state.services` for tests and tooling."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict]:
        the_broker = broker or _broker(settings)
        the_store = store or _store(settings, the_broker, clock)
        the_jobs = jobs or _jobs(settings)
        transport = sms or _transport(settings)
        metrics = Metrics()
        tokens = Tokens(settings.gateway.secret)
        texter = Texter(settings, the_store, the_broker, the_jobs, transport, metrics, clock=clock)
        callbacks = Callbacks(settings, the_jobs, metrics, clock=clock)
        orders = Orders(
            settings, the_store, the_broker, tokens, texter, metrics, callbacks=callbacks, clock=clock
        )
        chat = Chat(the_store, texter, metrics, clock=clock)
        services = {
            "settings": settings,
            "clock": clock,  # wall time: tokens, retention, timestamps
            "monotonic": monotonic,  # intervals: rate limits
            "store": the_store,
            "broker": the_broker,
            "jobs": the_jobs,
            "sms": transport,
            "metrics": metrics,
            "tokens": tokens,
            "texter": texter,
            "orders": orders,
            "chat": chat,
            "inbound": Inbound(settings, the_store, orders, chat, metrics, clock=clock),
            "hub": Hub(the_broker),
            "callbacks": callbacks,
        }
        text_worker = Worker(the_jobs, texting.KIND, texter.handle, clock=clock)
        callback_worker = Worker(the_jobs, callbacks_module.KIND, callbacks.handle, clock=clock)
        texter.kick, callbacks.kick = text_worker.kick, callback_worker.kick
        async with contextlib.AsyncExitStack() as stack:
            for part in (the_broker, the_store, the_jobs, transport, callbacks, text_worker, callback_worker):
                await part.start()
                stack.push_async_callback(part.close)
            if isinstance(the_store, MemoryStore):
                sweeper = asyncio.create_task(_sweep(the_store))
                stack.callback(sweeper.cancel)
            app.state.services = services
            yield services

    routes = [
        *health.routes,
        *api.routes,
        *chat_endpoints.routes,
        *twilio_endpoints.routes,
        *pages.routes,
        *brand.routes,
        *embed.routes,
        *(dev.routes if settings.sms.provider == "console" else []),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            StoreUnavailable: _unavailable,
            BrokerUnavailable: _unavailable,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.add_middleware(CrossOrigin, origins=settings.gateway.allowed_origins, paths=embed.CORS_PATHS)
    app.add_middleware(_CountResponses)
    return app


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own 404 (no such route) and 405 (wrong method), in the API's error shape."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug: the same error shape as everything else (uvicorn still logs the traceback)."""
    return error(500, "internal", "the gateway failed to handle this request")


async def _unavailable(request: Request, exc: Exception) -> Response:
    """Redis is down: say so, so a client retries, rather than a bare 500."""
    log.warning("answered 503: %s", type(exc).__name__)
    return error(503, "unavailable", "the gateway cannot reach its store right now; try again")


async def _sweep(store: MemoryStore) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        store.sweep()


class _CountResponses:
    """Counts HTTP responses by status for /metrics (pure ASGI, so WebSockets pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                services = getattr(scope.get("app").state, "services", None) if scope.get("app") else None
                if services is not None:
                    services["metrics"].http.labels(str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)
