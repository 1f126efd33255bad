"""What the gateway reaches under a Starlette WebSocket (gateway/websocket_server.py): the
server's protocol object, found through the socket's `send`, and what it lets go of once the
handshake is over."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocket

from gateway.websocket_server import server_protocol, shed_handshake, transport_of


class Transport:
    def abort(self) -> None: ...


class Protocol:
    """Like uvicorn's: a transport, the handshake's request and response, and a flag."""

    def __init__(self, handshake_complete: bool) -> None:
        self.transport = Transport()
        self.handshake_complete = handshake_complete
        self.request = object()
        self.response = object()

    async def send(self, message) -> None: ...


async def receive():
    return {"type": "websocket.connect"}


def socket(send) -> WebSocket:
    scope = {"type": "websocket", "path": "/ws/customer", "headers": [(b"origin", b"https://shop.example")]}
    return WebSocket(scope, receive, send)


def wrapped(send):
    """Starlette's middleware wraps `send` in closures; the protocol is found through them."""

    async def outer(message) -> None:
        await send(message)

    return outer


@pytest.mark.parametrize("wrap", [lambda send: send, wrapped, lambda send: wrapped(wrapped(send))])
def test_the_protocol_is_found_through_sends_wrapped_in_closures(wrap) -> None:
    protocol = Protocol(handshake_complete=True)
    ws = socket(wrap(protocol.send))
    assert server_protocol(ws) is protocol
    assert transport_of(ws) is protocol.transport


@pytest.mark.parametrize(
    ("complete", "kept"),
    [(True, False), (False, True)],  # during the handshake the server still needs both
)
def test_a_completed_handshake_lets_go_of_its_request_and_response(complete: bool, kept: bool) -> None:
    protocol = Protocol(handshake_complete=complete)
    ws = socket(wrapped(protocol.send))
    shed_handshake(ws)
    assert ws.scope["headers"] == []
    assert (protocol.request is not None, protocol.response is not None) == (kept, kept)


def test_a_server_without_a_reachable_protocol_is_left_alone() -> None:
    async def send(message) -> None: ...

    ws = socket(send)
    assert server_protocol(ws) is None and transport_of(ws) is None
    shed_handshake(ws)  # does not raise
    assert ws.scope["headers"] == []
