"""Redis goes away mid-conversation and comes back: nodes say so, sockets stay, nothing acked
is lost, and chat carries on across nodes."""

from __future__ import annotations

import asyncio

import pytest

from support.app_server import (
    OPERATOR_KEY,
    auth,
    base_config,
    frame_of,
    join,
    running_gateway,
    send_text,
)
from support.redis_server import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def _ready(node, expected: int) -> None:
    """Asks /readyz until it answers `expected` (each ask waits on Redis for at most 2 s)."""
    async def ask() -> None:
        while (await node.http.get("/readyz")).status_code != expected:
            pass

    await asyncio.wait_for(ask(), 20)


async def test_a_redis_restart_loses_no_acked_message_and_chat_resumes(restartable_redis):
    config = base_config(gateway={"redis_url": restartable_redis.url})
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        view = await node_a.picking_order("o-outage")
        shopper = await node_a.connect("shopper", await node_a.shopper_token())
        customer = await node_b.connect("customer", view["customer_token"])
        await join(shopper, "o-outage")
        await join(customer, "o-outage")
        for n in range(3):
            await send_text(shopper, "o-outage", f"before {n}", f"b{n}")
            assert (await frame_of(shopper, "ack"))["message"]["seq"] == n + 1
            assert (await frame_of(customer, "message"))["message"]["seq"] == n + 1

        await restartable_redis.astop()
        await _ready(node_a, 503)
        await send_text(shopper, "o-outage", "during", "d0")
        refused = await frame_of(shopper, "error")
        assert refused["code"] == "unavailable" and refused["client_id"] == "d0"
        outage = await node_b.http.get("/v1/orders/o-outage", headers=auth(OPERATOR_KEY))
        assert outage.status_code == 503 and outage.json()["error"]["code"] == "unavailable"

        await restartable_redis.astart()
        await _ready(node_a, 200)
        await _ready(node_b, 200)
        # The same sockets carry on, and the retried send lands after the three acked ones.
        await send_text(shopper, "o-outage", "during", "d0")
        assert (await frame_of(shopper, "ack"))["message"]["seq"] == 4
        assert (await frame_of(customer, "message"))["message"]["text"] == "during"
        await send_text(customer, "o-outage", "got them all", "c0")
        reply = await frame_of(shopper, "message")
        while reply["message"]["from"] == "shopper":  # its own messages come back too
            reply = await frame_of(shopper, "message")
        assert (reply["message"]["seq"], reply["message"]["text"]) == (5, "got them all")

        transcript = await node_b.http.get("/v1/orders/o-outage/messages", headers=auth(OPERATOR_KEY))
        texts = [m["text"] for m in transcript.json()["messages"]]
        assert texts == ["before 0", "before 1", "before 2", "during", "got them all"]


async def test_a_redis_that_comes_back_empty_is_reported_not_papered_over(tmp_path):
    redis = RedisServer(tmp_path, appendonly=False)  # keeps no data across a restart
    redis.start()
    try:
        async with running_gateway(base_config(gateway={"redis_url": redis.url})) as node:
            view = await node.picking_order("o-wiped")
            shopper = await node.connect("shopper", await node.shopper_token())
            customer = await node.connect("customer", view["customer_token"])
            await join(shopper, "o-wiped")
            await join(customer, "o-wiped")
            for n in (1, 2):
                await send_text(shopper, "o-wiped", f"message {n}", f"m{n}")
                assert (await frame_of(customer, "message"))["message"]["seq"] == n

            await redis.astop()
            await redis.astart()
            lost = await frame_of(customer, "error", timeout=20)  # once the node has reconnected
            assert lost["code"] == "history_lost"
            await customer.send('{"type":"ping"}')
            assert (await frame_of(customer, "pong"))["type"] == "pong"  # and the socket stays
    finally:
        redis.stop()


async def test_a_node_told_to_stop_while_redis_is_down_stops(tmp_path):
    """A node must not hang in its reconnect and claim loops when it is stopped during an
    outage (SIGTERM from a deploy while Redis fails over)."""
    redis = RedisServer(tmp_path, appendonly=True)
    redis.start()
    try:
        stopped = asyncio.Event()

        async def run_node() -> None:
            async with running_gateway(base_config(gateway={"redis_url": redis.url})) as node:
                await node.picking_order("o-stop", sms_opt_in=True)  # a text job under way too
                shopper = await node.connect("shopper", await node.shopper_token())
                await join(shopper, "o-stop")
                await redis.astop()
                answer = await node.http.get("/v1/orders/o-stop", headers=auth(OPERATOR_KEY))
                assert answer.status_code == 503
            stopped.set()

        # running_gateway caps uvicorn's graceful shutdown at 5 s; each part then has its own
        # bound. Past 20 s the node is hung.
        await asyncio.wait_for(run_node(), 20)
        assert stopped.is_set()
    finally:
        redis.stop()
