"""An accepted chat socket keeps, for its whole life, only what it still needs: against the
real server (uvicorn and `websockets`, in this process), the handshake's headers and token
are let go and the receive queue is the lean Inbox, and the socket still chats both ways.
Should an upgrade of either move what gateway.websocket_server reaches for, this fails."""

from __future__ import annotations

import gc

import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from gateway.websocket_server import Inbox
from support.app_server import frame_of, join, send_text

pytestmark = pytest.mark.e2e


def server_sockets() -> dict[int, WebSocketsSansIOProtocol]:
    """uvicorn's protocol objects of the WebSockets in this process (the one the gateway runs),
    by id. `type() is`, not isinstance: a dead weak proxy among the objects raises on that."""
    return {id(obj): obj for obj in gc.get_objects() if type(obj) is WebSocketsSansIOProtocol}


def parser_request(protocol):
    """The handshake request that `websockets`' parser keeps as a local of its frame."""
    return protocol.conn.parser.gi_frame.f_locals.get("request")


async def test_an_accepted_socket_lets_go_of_its_handshake_and_still_chats(gateway) -> None:
    view = await gateway.picking_order("o-idle")
    earlier = server_sockets()  # other tests' sockets, not yet collected
    customer = await gateway.connect("customer", view["customer_token"], origin=gateway.url)
    await join(customer, "o-idle")

    (protocol,) = [p for key, p in server_sockets().items() if key not in earlier]
    assert protocol.request is None and protocol.response is None
    assert protocol.scope["headers"] == [] and protocol.scope["query_string"] == b""
    request = parser_request(protocol)
    assert request is not None and len(request.headers) == 0
    assert type(protocol.queue) is Inbox and protocol.queue.empty()

    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-idle")
    await send_text(shopper, "o-idle", "Is oat milk fine?", "c-1")
    assert (await frame_of(customer, "message"))["message"]["text"] == "Is oat milk fine?"
    assert (await frame_of(shopper, "message"))["message"]["text"] == "Is oat milk fine?"  # its own copy
    await send_text(customer, "o-idle", "Yes please", "c-2")
    assert (await frame_of(shopper, "message"))["message"]["text"] == "Yes please"
