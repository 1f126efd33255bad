"""Serves an ASGI app under uvicorn on a free 127.0.0.1 port, for the length of a block."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp

from gateway import cli


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the test runner and says when it is up."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


def listening_socket() -> socket.socket:
    """Bound to a free port and listening already: clients may connect (and wait in the
    backlog) before uvicorn accepts, so the URL is known before the app is built. Built by
    the gateway's own listener function, so tests run with Nagle off as production does."""
    return cli.listening_socket("127.0.0.1", 0)


def url_of(sock: socket.socket) -> str:
    return "http://127.0.0.1:%d" % sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, sock: socket.socket | None = None, *, startup_timeout: float = 15, **config
) -> AsyncIterator[str]:
    """Runs `app` until the block ends; yields its base URL once its lifespan has started."""
    sock = sock or listening_socket()
    options = {
        "log_level": "warning", "access_log": False, "lifespan": "auto", "timeout_graceful_shutdown": 5, **config,
    }
    server = QuietServer(uvicorn.Config(app, **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    ready = asyncio.create_task(server.ready.wait())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=startup_timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            raise RuntimeError("the server did not start (see the log above)")
        yield url_of(sock)
    finally:
        ready.cancel()
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
