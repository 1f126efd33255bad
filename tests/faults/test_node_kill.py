"""A node killed with SIGKILL (contract section 5: "a text is never lost because a node
stopped"): two real gateway processes on one Redis, the local fake Twilio, and the callback
receiver. Only the processes these tests start are killed, by PID."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from support.app_server import OPERATOR_KEY, RETAILER_KEY, auth, base_config
from support.callback_receiver import CallbackReceiver
from support.fake_twilio import FakeTwilio
from support.gateway_process import GatewayNode
from support.redis_server import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

FRAME_TIMEOUT = 10.0
LEASE_OUT = 90.0  # a job a dead node held is claimed again once its 60 s lease ends


class Node:
    """A gateway process and an HTTP client for it."""

    def __init__(self, process: GatewayNode) -> None:
        self.process = process
        self.http = httpx.AsyncClient(base_url=process.url, trust_env=False, timeout=FRAME_TIMEOUT)

    async def shopper_socket(self, shopper_id: str = "shopper-1"):
        token = (await self.http.post(f"/v1/shoppers/{shopper_id}/tokens", headers=auth(OPERATOR_KEY))).json()["token"]
        return await websockets.connect(self.process.ws_url("shopper", token), max_queue=None, open_timeout=FRAME_TIMEOUT)

    async def picking_order(self, order_id: str) -> dict:
        body = {"id": order_id, "workflow": "delivery", "customer": {"phone": "+15551230001"}, "sms_opt_in": True}
        created = await self.http.post("/v1/orders", json=body, headers=auth(RETAILER_KEY))
        assert created.status_code == 201, created.text
        event = {"event_id": f"{order_id}-picking", "event_name": "picking", "shopper": {"id": "shopper-1", "name": "Alex"}}
        picked = await self.http.post(f"/v1/orders/{order_id}/events", json=event, headers=auth(OPERATOR_KEY))
        assert picked.json()["applied"] is True, picked.text
        return created.json()

    async def ready(self, expected: int, timeout: float = 30) -> None:
        """Asks /readyz until it answers `expected` (each answer waits on Redis at most 2 s)."""
        async def ask() -> None:
            while (await self.http.get("/readyz")).status_code != expected:
                pass

        await asyncio.wait_for(ask(), timeout)

    async def transcript(self, order_id: str) -> list[dict]:
        response = await self.http.get(f"/v1/orders/{order_id}/messages?limit=500", headers=auth(OPERATOR_KEY))
        assert response.status_code == 200, response.text
        return response.json()["messages"]


@pytest.fixture
async def start_node(tmp_path: Path) -> AsyncIterator:
    started: list[Node] = []

    async def start(config: dict, name: str) -> Node:
        node = Node(GatewayNode(config, tmp_path, name))
        await node.process.start()
        started.append(node)
        return node

    yield start
    for node in started:
        await node.http.aclose()
        await node.process.stop()


async def frames_of(ws, kind: str, count: int, timeout: float = FRAME_TIMEOUT) -> list[dict]:
    found: list[dict] = []

    async def read() -> None:
        while len(found) < count:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                found.append(frame)

    await asyncio.wait_for(read(), timeout)
    return found


def send(order_id: str, client_id: str, text: str) -> str:
    return json.dumps({"type": "send", "order_id": order_id, "client_id": client_id, "text": text})


async def test_every_message_acked_by_a_node_killed_mid_conversation_is_stored_once_and_texted(
    crashable_redis: RedisServer, fake_twilio: FakeTwilio, start_node
):
    config = base_config(gateway={"redis_url": crashable_redis.url}, sms=fake_twilio.sms_config())
    node_a, node_b = await start_node(config, "a"), await start_node(config, "b")
    order_id = f"o-{secrets.token_hex(6)}"
    await node_a.picking_order(order_id)
    texts = {f"c{n}": f"Update {n}: found item {n}" for n in range(18)}

    shopper = await node_a.shopper_socket()
    await shopper.send(json.dumps({"type": "join", "order_id": order_id}))
    await frames_of(shopper, "joined", 1)
    acked: list[str] = []
    for client_id in list(texts)[:8]:  # each awaited
        await shopper.send(send(order_id, client_id, texts[client_id]))
        acked.append((await frames_of(shopper, "ack", 1))[0]["client_id"])
    for client_id in list(texts)[8:]:  # in flight when the node dies
        await shopper.send(send(order_id, client_id, texts[client_id]))
    await node_a.process.kill()
    try:  # what was acked before the kill, still buffered on our side
        while True:
            frame = json.loads(await asyncio.wait_for(shopper.recv(), 1))
            if frame["type"] == "ack":
                acked.append(frame["client_id"])
    except (websockets.ConnectionClosed, TimeoutError):
        pass

    # The shopper reconnects to the other node and retries every client_id it sent.
    shopper_b = await node_b.shopper_socket()
    await shopper_b.send(json.dumps({"type": "join", "order_id": order_id}))
    await frames_of(shopper_b, "joined", 1)
    for client_id, text in texts.items():
        await shopper_b.send(send(order_id, client_id, text))
    acks = await frames_of(shopper_b, "ack", len(texts))
    by_client = {ack["client_id"]: ack["message"]["seq"] for ack in acks}
    for client_id in acked:  # what the dead node acked keeps its seq
        assert client_id in by_client

    history = await node_b.transcript(order_id)
    assert [message["seq"] for message in history] == list(range(1, len(texts) + 1))  # gapless
    assert sorted(message["client_id"] for message in history) == sorted(texts)  # each stored once
    assert {message["client_id"]: message["seq"] for message in history} == by_client

    # Every message reaches the customer's phone at least once; none is lost with node A.
    def texted() -> bool:
        bodies = {request.form["Body"] for request in fake_twilio.accepted}
        return all(text in bodies for text in texts.values())

    await fake_twilio.wait_for(texted, timeout=LEASE_OUT)
    await shopper_b.close()


async def test_jobs_a_killed_node_held_are_run_by_another_once_their_lease_ends(
    crashable_redis: RedisServer, fake_twilio: FakeTwilio, callback_receiver: CallbackReceiver, start_node
):
    config = base_config(
        gateway={"redis_url": crashable_redis.url},
        sms=fake_twilio.sms_config(),
        retailers={"demo": {
            "name": "Demo Grocer", "api_key": RETAILER_KEY,
            "callback_url": f"{callback_receiver.url}/hooks", "callback_secret": "s3cret",
        }},
    )
    node_a = await start_node(config, "a")
    order_id = f"o-{secrets.token_hex(6)}"
    # Node A takes the picking text and its callback, and is killed while both are under way.
    fake_twilio.hold_answers()
    callback_receiver.hold("/hooks")
    await node_a.picking_order(order_id)
    await fake_twilio.wait_for_held(1, timeout=FRAME_TIMEOUT)
    first = (await callback_receiver.wait_for(1, timeout=FRAME_TIMEOUT))[0]
    await node_a.process.kill()
    fake_twilio.release_answers()  # its answer goes to a dead node
    callback_receiver.release()

    await start_node(config, "b")
    sent = await fake_twilio.wait_for(lambda: len(fake_twilio.accepted) >= 2, timeout=LEASE_OUT)
    assert sent[0].form["Body"] == sent[1].form["Body"]  # the same text, sent again by node B
    again = (await callback_receiver.wait_for(2, timeout=LEASE_OUT))[1]
    assert again.body == first.body  # the same event_id, signed the same
    assert CallbackReceiver.signature_is_valid(again, "s3cret")


async def test_redis_killed_and_restarted_with_its_log_loses_nothing_acked(
    crashable_redis: RedisServer, fake_twilio: FakeTwilio, start_node
):
    # The customer's page is joined, so texts would be held (contract section 9); this test is
    # about what a Redis crash loses, so every message is texted at once, as in v1.
    sms = {**fake_twilio.sms_config(), "chat_fallback": "0s"}
    config = base_config(gateway={"redis_url": crashable_redis.url}, sms=sms)
    node_a, node_b = await start_node(config, "a"), await start_node(config, "b")
    order_id = f"o-{secrets.token_hex(6)}"
    view = await node_a.picking_order(order_id)
    shopper = await node_a.shopper_socket()
    customer = await websockets.connect(node_b.process.ws_url("customer", view["customer_token"]), max_queue=None)
    for ws in (shopper, customer):
        await ws.send(json.dumps({"type": "join", "order_id": order_id}))
        await frames_of(ws, "joined", 1)
    for n in range(5):
        await shopper.send(send(order_id, f"b{n}", f"before {n}"))
        assert (await frames_of(shopper, "ack", 1))[0]["message"]["seq"] == n + 1

    await crashable_redis.akill()
    await node_a.ready(503)
    outage = await node_b.http.get(f"/v1/orders/{order_id}", headers=auth(OPERATOR_KEY))
    assert outage.status_code == 503 and outage.json()["error"]["code"] == "unavailable"
    await shopper.send(send(order_id, "d0", "during"))
    refused = (await frames_of(shopper, "error", 1))[0]
    assert (refused["code"], refused["client_id"]) == ("unavailable", "d0")

    await crashable_redis.astart()
    await node_a.ready(200)
    await node_b.ready(200)
    await shopper.send(send(order_id, "d0", "during"))  # the same sockets carry on
    assert (await frames_of(shopper, "ack", 1))[0]["message"]["seq"] == 6
    seen = [frame["message"]["text"] for frame in await frames_of(customer, "message", 6)]
    assert seen == [f"before {n}" for n in range(5)] + ["during"]
    history = await node_b.transcript(order_id)
    assert [(m["seq"], m["text"]) for m in history] == list(enumerate([f"before {n}" for n in range(5)] + ["during"], 1))

    def texted() -> bool:
        bodies = {request.form["Body"] for request in fake_twilio.accepted}
        return all(message["text"] in bodies for message in history)

    await fake_twilio.wait_for(texted, timeout=LEASE_OUT)
    for ws in (shopper, customer):
        await ws.close()
