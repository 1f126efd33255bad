"""Runs the gateway under uvicorn on a free port, and talks to it like a client would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from gateway import settings as settings_module
from gateway.app import create_app
from gateway.cli import WS_OPTIONS
from gateway.jobs.memory import MemoryJobQueue
from gateway.services import Services
from gateway.settings import Settings
from gateway.sms.console import ConsoleTransport
from support.serving import listening_socket, serving, url_of

OPERATOR_KEY = "op-test-key-0123456789"
RETAILER_KEY = "rk-demo-test-0123456789"
OTHER_RETAILER_KEY = "rk-other-test-0123456789"
SECRET = "test-secret-0123456789"
FRAME_TIMEOUT = 5.0


def base_config(**sections: dict) -> dict:
    """A test config: two platform retailers ("demo", "other"), console SMS, embedded.
    Keyword sections are merged over it (e.g. sms={"provider": "twilio", ...})."""
    raw: dict = {
        "gateway": {"secret": SECRET, "operator_key": OPERATOR_KEY},
        "sms": {"numbers": ["+15005550006", "+15005550007"]},
        "retailers": {
            "demo": {"name": "Demo Grocer", "api_key": RETAILER_KEY},
            "other": {"name": "Other Grocer", "api_key": OTHER_RETAILER_KEY},
        },
    }
    for section, values in sections.items():
        if section == "retailers":
            raw["retailers"] = {**raw["retailers"], **values}
        else:
            raw[section] = {**raw.get(section, {}), **values}
    return raw


@dataclass
class RunningGateway:
    url: str
    settings: Settings
    services: Services  # read-only probes of state; tests drive the gateway over HTTP and sockets
    http: httpx.AsyncClient
    sockets: list[ClientConnection] = field(default_factory=list)

    def ws_url(self, role: str, token: str) -> str:
        return f"{self.url.replace('http', 'ws', 1)}/ws/{role}?token={token}"

    async def connect(self, role: str, token: str, **kwargs) -> ClientConnection:
        """A client socket, closed when the gateway stops. Its queue is unbounded: a test
        that leaves frames unread must not stall the close handshake at teardown."""
        options = {"open_timeout": FRAME_TIMEOUT, "close_timeout": 2, "max_queue": None, **kwargs}
        ws = await websockets.connect(self.ws_url(role, token), **options)
        self.sockets.append(ws)
        return ws

    # HTTP shortcuts with the test keys

    async def create_order(self, order_id: str, *, key: str = RETAILER_KEY, **body) -> httpx.Response:
        payload = {"id": order_id, "workflow": "delivery", "customer": {"phone": "+15551230001"}, **body}
        return await self.http.post("/v1/orders", json=payload, headers=auth(key))

    async def event(
        self, order_id: str, event_name: str, event_id: str | None = None, *, key: str = OPERATOR_KEY, **body
    ) -> httpx.Response:
        payload = {"event_id": event_id or f"{order_id}-{event_name}", "event_name": event_name, **body}
        return await self.http.post(f"/v1/orders/{order_id}/events", json=payload, headers=auth(key))

    async def shopper_token(self, shopper_id: str = "shopper-1") -> str:
        response = await self.http.post(f"/v1/shoppers/{shopper_id}/tokens", headers=auth(OPERATOR_KEY))
        assert response.status_code == 201, response.text
        return response.json()["token"]

    @property
    def phone(self) -> ConsoleTransport:
        """The console provider's outbox: the texts customers were sent (console mode)."""
        assert isinstance(self.services.sms, ConsoleTransport), "the gateway is not in console mode"
        return self.services.sms

    @property
    def jobs(self) -> ObservedJobQueue:
        assert isinstance(self.services.jobs, ObservedJobQueue), "the gateway is not in embedded mode"
        return self.services.jobs

    async def text_in(self, phone: str, sender: str, body: str, sid: str | None = None) -> list[str]:
        """A customer's text from `phone` to our number `sender`, as the /dev phone sends it
        (console mode); returns the gateway's replies."""
        payload = {"phone": phone, "sender": sender, "body": body, **({"sid": sid} if sid else {})}
        response = await self.http.post("/dev/api/phone/reply", json=payload)
        assert response.status_code == 200, response.text
        return response.json()["replies"]

    async def picking_order(self, order_id: str, shopper_id: str = "shopper-1", **body) -> dict:
        """An order whose chat is open, assigned to `shopper_id`. Returns the create view."""
        created = await self.create_order(order_id, **body)
        assert created.status_code == 201, created.text
        picked = await self.event(order_id, "picking", shopper={"id": shopper_id, "name": "Alex"})
        assert picked.json() == {"applied": True, "status": "picking"}, picked.text
        return created.json()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class ObservedJobQueue(MemoryJobQueue):
    """The embedded job queue, able to say when every job of a kind has settled, so a test
    can prove a text was *not* sent: once the queue is empty, nothing more will go."""

    def __init__(self) -> None:
        super().__init__()
        self.settled = asyncio.Condition()
        self.retries: dict[str, int] = {}

    async def done(self, job) -> None:
        await super().done(job)
        async with self.settled:
            self.settled.notify_all()

    async def retry(self, job, due_at) -> None:
        await super().retry(job, due_at)
        self.retries[job.kind] = self.retries.get(job.kind, 0) + 1
        async with self.settled:
            self.settled.notify_all()

    async def retried(self, kind: str, count: int, timeout: float = FRAME_TIMEOUT) -> None:
        """Returns once `count` attempts of this kind were put back to run again."""
        async with self.settled:
            await asyncio.wait_for(self.settled.wait_for(lambda: self.retries.get(kind, 0) >= count), timeout)

    async def drained(self, kind: str, timeout: float = FRAME_TIMEOUT) -> None:
        async with self.settled:
            await asyncio.wait_for(self.settled.wait_for(lambda: self.pending(kind) == 0), timeout)


@asynccontextmanager
async def running_gateway(
    raw: dict | None = None, *, wrap: Callable[[Services], Services] | None = None, **build_kwargs
) -> AsyncIterator[RunningGateway]:
    """The gateway under uvicorn on a free port. `raw` is a config dict (default
    `base_config()`); its public_url is set to the server's own URL unless given, so Twilio
    signatures and status links match. `build_kwargs` go to Services.build (injected fakes);
    `wrap` may replace parts of the built services (a chat log that misbehaves)."""
    sock = listening_socket()
    url = url_of(sock)
    raw = raw if raw is not None else base_config()
    raw = {**raw, "gateway": {"public_url": url, **raw.get("gateway", {})}}
    try:
        settings, _ = settings_module.parse(raw, {})
    except BaseException:
        sock.close()  # serving() owns it from here on; a config the test meant to be bad must not leak it
        raise
    if settings.gateway.embedded:
        build_kwargs.setdefault("jobs", ObservedJobQueue())
    services = Services.build(settings, **build_kwargs)
    if wrap is not None:
        services = wrap(services)
    app = create_app(settings, services=services)
    async with (
        serving(app, sock, lifespan="on", **WS_OPTIONS),
        httpx.AsyncClient(base_url=url, trust_env=False, timeout=FRAME_TIMEOUT) as http,
    ):
        gateway = RunningGateway(url=url, settings=settings, services=services, http=http)
        try:
            yield gateway
        finally:
            for ws in gateway.sockets:
                await ws.close()


@pytest.fixture
async def gateway() -> AsyncIterator[RunningGateway]:
    """The gateway in embedded mode with console SMS and the test config."""
    async with running_gateway() as running:
        yield running


async def next_frame(ws: ClientConnection, timeout: float = FRAME_TIMEOUT) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def frame_of(ws: ClientConnection, type_: str, timeout: float = FRAME_TIMEOUT) -> dict:
    """The next frame of this type, skipping other types (typing, read, status...)."""
    async def find() -> dict:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == type_:
                return frame

    return await asyncio.wait_for(find(), timeout)


async def join(ws: ClientConnection, order_id: str, after: int | None = None) -> dict:
    frame: dict = {"type": "join", "order_id": order_id}
    if after is not None:
        frame["after"] = after
    await ws.send(json.dumps(frame))
    return await frame_of(ws, "joined")


async def send_text(ws: ClientConnection, order_id: str, text: str, client_id: str) -> None:
    await ws.send(json.dumps({"type": "send", "order_id": order_id, "client_id": client_id, "text": text}))


async def collect(ws: ClientConnection, types: set[str], count: int, timeout: float = FRAME_TIMEOUT) -> list[dict]:
    """The next `count` frames whose type is in `types`, in arrival order, skipping others."""
    async def gather() -> list[dict]:
        found = []
        while len(found) < count:
            frame = json.loads(await ws.recv())
            if frame["type"] in types:
                found.append(frame)
        return found

    return await asyncio.wait_for(gather(), timeout)


def last_text_number(sms) -> int:
    """The number of the newest text in a ConsoleTransport's outbox (0 when empty)."""
    return sms.outbox[-1].n if sms.outbox else 0


async def texts_since(sms, start: int, count: int) -> list:
    """The console outbox's texts after number `start`, once there are at least `count`."""
    while len(got := sms.since(start)) < count:
        newest = got[-1].n if got else start
        arrived = await sms.wait_since(newest, FRAME_TIMEOUT)
        assert arrived, f"expected {count} texts, got {len(got)} within {FRAME_TIMEOUT}s"
    return got
