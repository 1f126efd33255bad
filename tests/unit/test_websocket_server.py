"""What the gateway reaches under a Starlette WebSocket (gateway/websocket_server.py): the
server's protocol object, found through the socket's `send`, what it lets go of once the
handshake is over, and the Inbox that takes the place of its receive queue."""

from __future__ import annotations

import asyncio

import pytest
from starlette.websockets import WebSocket

from gateway.websocket_server import Inbox, server_protocol, shed_handshake, transport_of


class Transport:
    def abort(self) -> None: ...


class Request:
    def __init__(self) -> None:
        self.headers = {"host": "gateway.example", "origin": "https://shop.example"}


class Protocol:
    """Like uvicorn's: a transport, the handshake's request and response, a flag, and the
    queue its receive reads."""

    def __init__(self, handshake_complete: bool) -> None:
        self.transport = Transport()
        self.handshake_complete = handshake_complete
        self.request = Request()
        self.response = object()
        self.queue: asyncio.Queue = asyncio.Queue()

    async def send(self, message) -> None: ...


async def receive():
    return {"type": "websocket.connect"}


def socket(send) -> WebSocket:
    scope = {
        "type": "websocket", "path": "/ws/customer", "headers": [(b"origin", b"https://shop.example")],
        "query_string": b"token=secret",
    }
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
    request = protocol.request
    ws = socket(wrapped(protocol.send))
    shed_handshake(ws)
    assert ws.scope["headers"] == [] and ws.scope["query_string"] == b""
    assert (protocol.request is not None, protocol.response is not None) == (kept, kept)
    # The request object lives on elsewhere (websockets' parser): its headers do not.
    assert bool(request.headers) == kept
    assert isinstance(protocol.queue, asyncio.Queue) == kept


async def test_what_was_queued_before_the_swap_is_received_first_and_in_order() -> None:
    protocol = Protocol(handshake_complete=True)
    protocol.queue.put_nowait({"type": "websocket.receive", "text": "first"})
    protocol.queue.put_nowait({"type": "websocket.receive", "text": "second"})
    shed_handshake(socket(protocol.send))
    inbox = protocol.queue
    assert isinstance(inbox, Inbox)
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    received = [await inbox.get() for _ in range(3)]
    assert [m.get("text", m["type"]) for m in received] == ["first", "second", "websocket.disconnect"]
    assert inbox.empty()


async def test_an_inbox_wakes_its_waiting_reader() -> None:
    inbox = Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)  # the reader is waiting (one turn of the loop, not a timed wait)
    assert not reader.done() and inbox.empty()
    inbox.put_nowait("frame")
    assert await asyncio.wait_for(reader, 1) == "frame"
    assert inbox.empty()


async def test_an_inbox_has_one_reader_at_a_time() -> None:
    inbox = Inbox()
    first = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await inbox.get()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    inbox.put_nowait("after a cancelled read")  # a cancelled reader leaves the inbox usable
    assert await asyncio.wait_for(inbox.get(), 1) == "after a cancelled read"


def test_a_server_without_a_reachable_protocol_is_left_alone() -> None:
    async def send(message) -> None: ...

    ws = socket(send)
    assert server_protocol(ws) is None and transport_of(ws) is None
    shed_handshake(ws)  # does not raise
    assert ws.scope["headers"] == []
