"""Past its capacity a node says `overloaded` (with when to retry), never `unavailable`,
while Redis answers: on sockets (an error frame) and over HTTP (503 with Retry-After)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager

import pytest

from gateway.capacity import Capacity
from support.app_server import (
    OPERATOR_KEY,
    RunningGateway,
    auth,
    base_config,
    frame_of,
    join,
    running_gateway,
    send_text,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

OUTCOMES = {"ack", "error"}


def _order_id() -> str:
    return f"o-{uuid.uuid4().hex}"


@asynccontextmanager
async def _every_slot_taken(node: RunningGateway):
    """Holds every Redis slot of the node, as a burst of other work would."""
    pool = node.services.connections[0].redis.connection_pool
    held = [await pool.get_connection() for _ in range(pool.max_connections)]
    try:
        yield
    finally:
        for connection in held:
            await pool.release(connection)


async def _outcome(ws, client_id: str) -> dict:
    """The ack or error frame that answers the send with this client_id."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame["type"] in OUTCOMES and frame.get("client_id") == client_id:
            return frame


async def _join_when_taken(ws, order_id: str) -> None:
    """Joins, asking again at once while the node answers `overloaded` (so many joins at once
    may be more than a small node takes)."""
    while True:
        await ws.send(json.dumps({"type": "join", "order_id": order_id}))
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 30)))["type"] not in ("joined", "error"):
            pass
        if frame["type"] == "joined":
            return
        assert frame["code"] == "overloaded", frame


async def test_an_overloaded_send_is_told_when_to_retry_and_the_retry_lands(redis_url):
    config = base_config(gateway={"redis_url": redis_url})
    capacity = Capacity(in_flight=1, wait=0.2, retry_after=0.25)
    async with running_gateway(config, capacity=capacity) as node:
        order_id = _order_id()
        await node.picking_order(order_id)
        shopper = await node.connect("shopper", await node.shopper_token())
        await join(shopper, order_id)

        async with _every_slot_taken(node):
            await send_text(shopper, order_id, "Bananas are green", "m1")
            refused = await frame_of(shopper, "error")

        assert refused == {
            "type": "error", "code": "overloaded", "client_id": "m1", "retry_after_ms": 250,
            "message": refused["message"],
        }
        await send_text(shopper, order_id, "Bananas are green", "m1")  # the same client_id
        acked = await frame_of(shopper, "ack")
        assert (acked["client_id"], acked["message"]["seq"]) == ("m1", 1)
        metrics = (await node.http.get("/metrics")).text
        # Counted (the job workers' polls may have been refused too while the slots were held).
        assert _metric(metrics, "gateway_overloaded_total") >= 1
        assert _metric(metrics, 'gateway_ws_errors_total{code="overloaded"}') == 1


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"expected metric {name} in /metrics")


async def test_an_error_frame_without_a_retry_leaves_retry_after_out(gateway):
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await send_text(shopper, "o-never-joined", "hi", "x1")
    refused = await frame_of(shopper, "error")
    assert refused["code"] == "not_joined" and "retry_after_ms" not in refused


async def test_http_past_capacity_answers_503_with_retry_after(redis_url):
    config = base_config(gateway={"redis_url": redis_url})
    async with running_gateway(config, capacity=Capacity(in_flight=2, wait=0.2, retry_after=2.5)) as node:
        order_id = _order_id()
        await node.picking_order(order_id)

        async with _every_slot_taken(node):
            busy = await node.http.get(f"/v1/orders/{order_id}", headers=auth(OPERATOR_KEY))

        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "3"  # whole seconds, rounded up
        assert busy.json()["error"]["code"] == "overloaded"
        again = await node.http.get(f"/v1/orders/{order_id}", headers=auth(OPERATOR_KEY))
        assert again.status_code == 200


@pytest.mark.parametrize(
    "capacity",
    [
        Capacity(),  # the default: more sockets sending at once than redis-py's own pool (100)
        Capacity(in_flight=4, wait=0.05),  # a small one, so some sends are refused
    ],
    ids=["default", "small"],
)
async def test_sends_past_the_pool_are_acked_or_overloaded_never_unavailable(redis_url, capacity):
    """Many sockets send at once, more than the node's pool holds. Each send is answered
    with its ack or `overloaded`; what was acked reaches the customer on the other node, in
    order, without gaps."""
    config = base_config(gateway={"redis_url": redis_url})
    sockets, per_socket = 150, 2
    async with running_gateway(config, capacity=capacity) as node_a, running_gateway(config) as node_b:
        order_id = _order_id()
        view = await node_a.picking_order(order_id)
        token = await node_a.shopper_token()
        customer = await node_b.connect("customer", view["customer_token"])
        await join(customer, order_id)
        shoppers = await asyncio.gather(*(node_a.connect("shopper", token) for _ in range(sockets)))
        await asyncio.gather(*(_join_when_taken(ws, order_id) for ws in shoppers))

        async def burst(n: int, ws) -> list[dict]:
            ids = [f"{n}-{k}" for k in range(per_socket)]
            for client_id in ids:
                await send_text(ws, order_id, f"item {client_id}", client_id)
            return [await _outcome(ws, client_id) for client_id in ids]

        answers = [a for group in await asyncio.gather(*(burst(n, ws) for n, ws in enumerate(shoppers))) for a in group]

        assert len(answers) == sockets * per_socket
        codes = {a["code"] for a in answers if a["type"] == "error"}
        assert codes <= {"overloaded"}, codes
        acked = sorted(a["message"]["seq"] for a in answers if a["type"] == "ack")
        assert acked == list(range(1, len(acked) + 1))
        assert acked, "expected some sends to be taken"
        delivered = []
        while len(delivered) < len(acked):
            delivered.append((await frame_of(customer, "message", timeout=30))["message"]["seq"])
        assert delivered == acked


async def test_sends_queued_behind_a_busy_one_are_answered_not_left_waiting(redis_url):
    """A socket's sends wait in line; while the node cannot take them each is answered
    `overloaded` after at most the bounded wait, and the line moves again once it can."""
    config = base_config(gateway={"redis_url": redis_url})
    async with running_gateway(config, capacity=Capacity(in_flight=1, wait=0.3, retry_after=0.2)) as node:
        order_id = _order_id()
        await node.picking_order(order_id)
        shopper = await node.connect("shopper", await node.shopper_token())
        await join(shopper, order_id)

        async with _every_slot_taken(node):
            for n in range(3):
                await send_text(shopper, order_id, f"item {n}", f"q{n}")
            answers = [await _outcome(shopper, f"q{n}") for n in range(3)]

        assert [(a["type"], a["code"]) for a in answers] == [("error", "overloaded")] * 3
        await send_text(shopper, order_id, "item 0", "q0")
        assert (await _outcome(shopper, "q0"))["message"]["seq"] == 1
