"""What lies under a Starlette WebSocket: the server's protocol object for the connection.
ASGI offers no way to reach it, and two things need it: cutting off a socket that stopped
reading (its transport, to abort), and an idle socket's footprint (letting go of what only
the handshake needed, and a lean inbox in place of the server's queue)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from starlette.websockets import WebSocket


def server_protocol(ws: WebSocket) -> Any | None:
    """The protocol object behind `ws` (uvicorn's), found by following the socket's `send`
    (a bound method of it, maybe inside Starlette's wrapping closures) to an object that has
    a `transport`; None when there is none."""
    found: list = [ws._send]
    for _ in range(6):
        nested = []
        for send in found:
            owner = getattr(send, "__self__", None)
            transport = getattr(owner, "transport", None)
            if transport is not None and hasattr(transport, "abort"):
                return owner
            for cell in getattr(send, "__closure__", None) or ():
                try:
                    if callable(cell.cell_contents):
                        nested.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    continue
        found = nested
    return None


def transport_of(ws: WebSocket) -> asyncio.Transport | None:
    protocol = server_protocol(ws)
    return None if protocol is None else protocol.transport


def shed_handshake(ws: WebSocket) -> None:
    """Cuts what the server keeps for an accepted socket's life to what it still needs. It
    lets go of what only the handshake needed: the request's headers and query string (the
    token) in the ASGI scope, uvicorn's handshake request and response objects, and the
    request's headers, which `websockets`' parser keeps for the socket's life. And it swaps
    uvicorn's receive queue (an asyncio.Queue: three deques and an Event) for an Inbox.
    Together about 6 KB of an idle socket's 27 (make bench). Call it once the socket is
    accepted, before the next receive. A server whose protocol is not as expected (the
    handshake not complete, no asyncio.Queue) is left alone there."""
    ws.scope["headers"] = []
    ws.scope["query_string"] = b""
    protocol = server_protocol(ws)
    if protocol is None or getattr(protocol, "handshake_complete", None) is not True:
        return
    headers = getattr(getattr(protocol, "request", None), "headers", None)
    if hasattr(headers, "clear"):
        headers.clear()  # the same Request object is a local of the parser's frame
    for name in ("request", "response"):
        if hasattr(protocol, name):
            setattr(protocol, name, None)
    queue = getattr(protocol, "queue", None)
    if type(queue) is asyncio.Queue:  # nobody waits on it: the app is not in receive
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        protocol.queue = Inbox(items)


class Inbox:
    """What the server queues for the app to receive (frames, the disconnect), with the three
    methods uvicorn's WebSocket protocols call. While empty it holds nothing but two slots;
    one reader, the app's receive, waits on it at a time."""

    __slots__ = ("_items", "_waiter")

    def __init__(self, items: list | tuple = ()) -> None:
        self._items: deque | None = deque(items) if items else None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("Inbox has one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item
