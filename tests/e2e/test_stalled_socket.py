"""A socket that stops reading is cut off: its close cannot wait behind the bytes it does not
read, so the connection is aborted and its subscription released within a bounded time, while
the other sockets of the order carry on (contract section 6: nothing else is closed)."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from gateway.relay import STALL_GRACE
from support.app_server import base_config, frame_of, join, running_gateway

pytestmark = pytest.mark.e2e

RELEASED_WITHIN = 2 * STALL_GRACE + 3.0  # the close's grace, the slow reader's, and slack
MAX_FLOOD = 20000


def metric(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"expected metric {name} in /metrics")


async def test_a_socket_that_never_reads_is_aborted_and_its_subscription_released():
    config = base_config(limits={"chat_per_second": 100000})  # the flood is the test, not the limit
    async with running_gateway(config) as gateway:
        view = await gateway.picking_order("o-stall")
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        await join(shopper, "o-stall")
        # The customer's page hangs: it joins, then never reads again. A small receive buffer
        # and a one-frame client queue make it stop taking bytes early.
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window
        raw.connect(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1])))
        stalled = await websockets.connect(
            gateway.ws_url("customer", view["customer_token"]), sock=raw, max_queue=1, open_timeout=5, close_timeout=1
        )
        await stalled.send(json.dumps({"type": "join", "order_id": "o-stall"}))
        await wait_for_attachments(gateway, 2)

        # The shopper floods the order (its own socket read all along) until the customer's
        # outbox overflows: the kernel buffers take a few MB first.
        registry = gateway.services.metrics.registry
        text = "x" * 1000
        for n in range(MAX_FLOOD):
            await shopper.send(json.dumps({"type": "send", "order_id": "o-stall", "client_id": f"f{n}", "text": text}))
            if n % 100 == 99:
                await shopper.send(json.dumps({"type": "ping"}))
                await frame_of(shopper, "pong")  # the server has handled (and we read) every send
                if registry.get_sample_value("gateway_stalled_sockets_total"):
                    break
        overflowed = time.monotonic()
        await wait_for_attachments(gateway, 1)
        assert time.monotonic() - overflowed < RELEASED_WITHIN

        metrics = (await gateway.http.get("/metrics")).text
        assert metric(metrics, "gateway_stalled_sockets_total") == 1
        assert metric(metrics, "gateway_hub_attachments") == 1
        assert 'gateway_websocket_connections{role="customer"} 0.0' in metrics  # its handler ended
        # The shopper's socket, which reads, stays and keeps chatting.
        await shopper.send(json.dumps({"type": "ping"}))
        assert (await frame_of(shopper, "pong"))["type"] == "pong"
        await stalled.close()


async def wait_for_attachments(gateway, expected: int) -> bool:
    async def poll() -> None:
        while gateway.services.hub.attachments != expected:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), RELEASED_WITHIN)
    return True
