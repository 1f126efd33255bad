"""What lies under a Starlette WebSocket: the server's protocol object for the connection.
ASGI offers no way to reach it, and two things need it: cutting off a socket that stopped
reading (its transport, to abort), and letting go of what only the handshake needed."""

from __future__ import annotations

import asyncio
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
    """Lets go of what only the handshake needed and the server would keep for the socket's
    life: the request's headers in the ASGI scope, and uvicorn's handshake request and
    response objects (together about 4 KB of an idle socket's 25; make bench). Call it once
    the socket is accepted. uvicorn reads neither once the handshake is complete; a server
    whose protocol says otherwise is left alone."""
    ws.scope["headers"] = []
    protocol = server_protocol(ws)
    if protocol is None or getattr(protocol, "handshake_complete", None) is not True:
        return
    for name in ("request", "response"):
        if hasattr(protocol, name):
            setattr(protocol, name, None)
