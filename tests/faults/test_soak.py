"""A soak: one real node on Redis, 1,000 sockets chatting while they join and drop. After the
warm-up the node's memory stays flat; when every socket has gone, so has every task and
subscription it held (counted by the node's own /metrics); every acked message reached the
other side of its order."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from support.app_server import OPERATOR_KEY, RETAILER_KEY, auth, base_config
from support.gateway_process import GatewayNode

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

PAIRS = 500  # a shopper and a customer socket per order: 1,000 sockets
CHURN = 60.0  # seconds of joining, chatting and dropping
WARM_UP = 20.0  # seconds before the first memory sample that counts
EXCHANGES = 4  # messages each way per connection, before both sides drop
FRAME_TIMEOUT = 30.0  # under full load a round trip may queue for a while
RSS_GROWTH = 0.15  # at most this much growth of the node's memory after the warm-up
# Operations (a join, or a send with its ack and delivery) under way at once. Every socket
# stays open, but their traffic is bounded below this branch's Redis pool (redis-py's 100
# connections), which the capacity work (issue 10) makes wait instead of refuse.
IN_FLIGHT = 50


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("expected VmRSS in /proc/<pid>/status")


def gauges(text: str) -> dict[str, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


async def recv_type(ws, kind: str, predicate=lambda frame: True) -> dict:
    async def read() -> dict:
        while True:
            frame = json.loads(await ws.recv())
            assert frame["type"] != "error", frame
            if frame["type"] == kind and predicate(frame):
                return frame

    return await asyncio.wait_for(read(), FRAME_TIMEOUT)


async def settled(http: httpx.AsyncClient, tasks: float, within: float = 15.0) -> dict[str, float]:
    """The node's gauges once its task count is down to `tasks` (the last sockets' handlers
    finish after their clients have gone), or as they are after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = gauges((await http.get("/metrics")).text)
        if found["gateway_asyncio_tasks"] <= tasks or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)  # a polling period: the condition is what is awaited


class Tally:
    def __init__(self) -> None:
        self.acked = 0
        self.delivered = 0
        self.connections = 0


async def pair(
    node: GatewayNode, order_id: str, tokens: tuple[str, str], until: float, tally: Tally, turns: asyncio.Semaphore
) -> None:
    """Connects both sides of one order, chats, drops both, and again, until `until`. Each
    acked message must reach the other side; each rejoin resumes after the last seq seen."""
    shopper_token, customer_token = tokens
    last_seq = 0
    round_ = 0
    while time.monotonic() < until:
        async with (
            websockets.connect(node.ws_url("shopper", shopper_token), max_queue=None, open_timeout=FRAME_TIMEOUT) as shopper,
            websockets.connect(node.ws_url("customer", customer_token), max_queue=None, open_timeout=FRAME_TIMEOUT) as customer,
        ):
            tally.connections += 2
            for ws in (shopper, customer):
                async with turns:
                    await ws.send(json.dumps({"type": "join", "order_id": order_id, "after": last_seq}))
                    joined = await recv_type(ws, "joined")
                assert joined["history"] == [], joined  # nothing after what both sides saw
            for n in range(EXCHANGES):
                for sender, receiver, role in ((shopper, customer, "s"), (customer, shopper, "c")):
                    client_id = f"{role}{round_}-{n}"
                    async with turns:
                        await sender.send(json.dumps(
                            {"type": "send", "order_id": order_id, "client_id": client_id, "text": f"{client_id} hello"}
                        ))
                        ack = await recv_type(sender, "ack", lambda frame, c=client_id: frame["client_id"] == c)
                        tally.acked += 1
                        seq = ack["message"]["seq"]
                        await recv_type(receiver, "message", lambda frame, s=seq: frame["message"]["seq"] == s)
                        tally.delivered += 1
                    last_seq = seq
        round_ += 1


async def test_a_thousand_sockets_joining_chatting_and_dropping_leave_nothing_behind(redis_url, tmp_path):
    config = base_config(gateway={"redis_url": redis_url}, limits={"chat_per_second": 1000})
    node = GatewayNode(config, tmp_path, "soak")
    await node.start()
    try:
        async with httpx.AsyncClient(base_url=node.url, trust_env=False, timeout=FRAME_TIMEOUT) as http:
            before = gauges((await http.get("/metrics")).text)
            run = f"soak-{time.time_ns()}"
            orders = []
            for n in range(PAIRS):
                order_id, shopper_id = f"{run}-{n}", f"{run}-s{n}"
                created = await http.post("/v1/orders", headers=auth(RETAILER_KEY), json={
                    "id": order_id, "workflow": "delivery", "customer": {"phone": f"+1555{n:07d}"},
                })
                assert created.status_code == 201, created.text
                await http.post(f"/v1/orders/{order_id}/events", headers=auth(OPERATOR_KEY), json={
                    "event_id": f"{order_id}-picking", "event_name": "picking", "shopper": {"id": shopper_id, "name": "Sam"},
                })
                token = (await http.post(f"/v1/shoppers/{shopper_id}/tokens", headers=auth(OPERATOR_KEY))).json()["token"]
                orders.append((order_id, token, created.json()["customer_token"]))

            tally = Tally()
            started = time.monotonic()
            until = started + CHURN
            turns = asyncio.Semaphore(IN_FLIGHT)
            pairs = asyncio.gather(*(pair(node, o, (s, c), until, tally, turns) for o, s, c in orders))
            samples: list[tuple[float, float, dict]] = []

            async def sample() -> None:
                while True:
                    await asyncio.sleep(5)  # a sampling period, not a wait for an outcome
                    metrics = gauges((await http.get("/metrics")).text)
                    samples.append((time.monotonic() - started, rss_mb(node.pid), metrics))

            sampler = asyncio.create_task(sample())
            try:
                await asyncio.wait_for(pairs, CHURN + 4 * FRAME_TIMEOUT)
            finally:
                sampler.cancel()
            after = await settled(http, before["gateway_asyncio_tasks"] + 2)
            final_rss = rss_mb(node.pid)

        steady = [(at, rss) for at, rss, _ in samples if at >= WARM_UP]
        peak_sockets = max(metrics.get('gateway_websocket_connections{role=customer}', 0)
                           + metrics.get('gateway_websocket_connections{role=shopper}', 0) for _, _, metrics in samples)
        figures = (
            f"soak: {tally.connections} connections, {tally.acked} messages acked, {tally.delivered} delivered, "
            f"peak {peak_sockets:.0f} open sockets; RSS after warm-up "
            f"{steady[0][1]:.1f} MB -> {steady[-1][1]:.1f} MB (final {final_rss:.1f} MB); tasks "
            f"{before['gateway_asyncio_tasks']:.0f} before, {after['gateway_asyncio_tasks']:.0f} after"
        )
        print(figures)
        assert tally.acked == tally.delivered and tally.acked > 0, figures
        assert peak_sockets >= 0.9 * 2 * PAIRS, figures  # the soak did hold about a thousand sockets at once
        assert steady[-1][1] <= steady[0][1] * (1 + RSS_GROWTH), figures
        assert after["gateway_hub_rooms"] == 0 and after["gateway_hub_attachments"] == 0, figures
        assert after.get("gateway_websocket_connections{role=customer}", 0) == 0, figures
        assert after.get("gateway_websocket_connections{role=shopper}", 0) == 0, figures
        assert after["gateway_asyncio_tasks"] <= before["gateway_asyncio_tasks"] + 2, figures
    finally:
        await node.stop()
