"""A real HTTP receiver for retailer callbacks: a Starlette app under uvicorn on a free port
that records every request, verifies signatures, and fails or hangs on demand."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from support.serving import serving


class ReceivedRequest(msgspec.Struct, frozen=True):
    path: str
    body: bytes  # raw, exactly as it arrived
    headers: dict[str, str]  # lower-case names
    status: int  # what the receiver answered

    def json(self) -> dict:
        return msgspec.json.decode(self.body)


class CallbackReceiver:
    """Records requests in arrival order. `fail_next(k)` answers the next k with an error;
    `hold(path)` keeps requests to that path waiting until `release()`."""

    def __init__(self) -> None:
        self.url = ""  # base URL, set once the server listens; any path under it is accepted
        self.requests: list[ReceivedRequest] = []
        self._arrived = asyncio.Event()
        self._failures: list[int] = []
        self._held_paths: set[str] = set()
        self._released = asyncio.Event()
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    def fail_next(self, k: int, status: int = 500) -> None:
        self._failures.extend([status] * k)

    def hold(self, path: str) -> None:
        self._held_paths.add(path)

    def release(self) -> None:
        self._released.set()

    def at(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.requests if request.path == path]

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """The first n requests, once that many have arrived."""

        async def arrived() -> None:
            while len(self.requests) < n:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(arrived(), timeout)
        return self.requests[:n]

    @staticmethod
    def signature_is_valid(request: ReceivedRequest, secret: str) -> bool:
        """Checks X-Gateway-Signature as a retailer would: HMAC-SHA256 of the raw body."""
        expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(request.headers.get("x-gateway-signature", ""), expected)

    async def _receive(self, request: Request) -> Response:
        status = self._failures.pop(0) if self._failures else 204
        self.requests.append(
            ReceivedRequest(
                path=request.url.path,
                body=await request.body(),
                headers={name.lower(): value for name, value in request.headers.items()},
                status=status,
            )
        )
        self._arrived.set()
        if request.url.path in self._held_paths:
            await self._released.wait()
        return Response(status_code=status)


@pytest.fixture
async def callback_receiver() -> AsyncIterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    async with serving(receiver.app, lifespan="off", ws="none") as url:
        receiver.url = url
        try:
            yield receiver
        finally:
            receiver.release()  # held requests finish, so shutdown does not wait on them
