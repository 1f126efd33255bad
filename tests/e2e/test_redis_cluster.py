"""Nodes on a Redis Cluster in trouble. A primary dies (SIGKILL, by its PID) mid-conversation
between two nodes: its replica takes over, no acked message is lost, the sockets carry on
without a gap or a duplicate, and texts and callbacks still go out. A cluster that does not
answer at all is an outage, said as one."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from websockets.asyncio.client import ClientConnection

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
from support.callback_receiver import CallbackReceiver
from support.fake_twilio import FakeTwilio
from support.redis_cluster import RedisCluster

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ORDER = "o-failover"
SHOP_KEY = "rk-shop-0123456789abcdef"
RECOVERY = 30.0  # a failover takes ~2 s (node timeout 1 s); the nodes re-read the slot map after


async def ready(node: RunningGateway) -> None:
    """Asks /readyz until it answers 200: the node's broker serves every channel again."""

    async def ask() -> None:
        while (await node.http.get("/readyz")).status_code != 200:
            pass

    await asyncio.wait_for(ask(), RECOVERY)


class Socket:
    """A client socket and the seqs of the message frames it has received so far."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seqs: list[int] = []

    async def answer_to(self, client_id: str) -> dict:
        """The next ack or error frame for `client_id`, noting the message frames on the way
        (an answer to an earlier send that was already acked is passed over, as a client does)."""

        async def find() -> dict:
            while True:
                frame = json.loads(await self.ws.recv())
                if frame["type"] == "message":
                    self.seqs.append(frame["message"]["seq"])
                elif frame["type"] == "ack" and frame["message"]["client_id"] == client_id:
                    return frame
                elif frame["type"] == "error" and frame.get("client_id") == client_id:
                    return frame

        return await asyncio.wait_for(find(), RECOVERY)

    async def messages_until(self, seq: int) -> list[int]:
        while not self.seqs or self.seqs[-1] < seq:
            self.seqs.append((await frame_of(self.ws, "message", timeout=RECOVERY))["message"]["seq"])
        return self.seqs


async def send_until_acked(node: RunningGateway, socket: Socket, text: str, client_id: str) -> int:
    """Sends as a client does: on `unavailable`, waits for the node to be ready and sends the
    same client_id again. Returns the acked seq."""
    while True:
        await send_text(socket.ws, ORDER, text, client_id)
        answer = await socket.answer_to(client_id)
        if answer["type"] == "ack":
            return answer["message"]["seq"]
        assert answer["code"] == "unavailable", answer
        await ready(node)


async def until_ok(node: RunningGateway, call) -> dict:
    """An HTTP call retried while the node answers 503 `unavailable` (the failover window)."""
    while (response := await call()).status_code == 503:
        await ready(node)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
async def test_a_primary_killed_mid_conversation_loses_nothing_acked(
    failover_cluster: RedisCluster, fake_twilio: FakeTwilio, callback_receiver: CallbackReceiver
) -> None:
    config = base_config(
        gateway={"redis_url": failover_cluster.url, "redis_cluster": True},
        sms=fake_twilio.sms_config(),
        retailers={"shop": {"api_key": SHOP_KEY, "callback_url": f"{callback_receiver.url}/events",
                            "callback_secret": "cb-secret-0123456789"}},
    )
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        view = await node_a.picking_order(ORDER, key=SHOP_KEY, sms_opt_in=True)
        await fake_twilio.wait_for_accepted(1, timeout=RECOVERY)  # "Alex is shopping..."
        await callback_receiver.wait_for(1, timeout=RECOVERY)  # fulfillment.picking
        shopper = Socket(await node_a.connect("shopper", await node_a.shopper_token()))
        customer = Socket(await node_b.connect("customer", view["customer_token"]))
        await join(shopper.ws, ORDER)
        await join(customer.ws, ORDER)
        for n in (1, 2, 3):
            assert await send_until_acked(node_a, shopper, f"before {n}", f"b{n}") == n

        # The primary serving the order dies while the conversation goes on: the shopper
        # keeps sending (as a client does, again on `unavailable`), the customer keeps reading.
        killing = asyncio.create_task(asyncio.to_thread(failover_cluster.kill_primary_of, f"{{order:{ORDER}}}:rec"))
        acked = [await send_until_acked(node_a, shopper, f"during {n}", f"d{n}") for n in (1, 2, 3)]
        killed = await killing
        assert killed.successor != killed.port
        acked += [await send_until_acked(node_b, customer, "after", "c1")]
        assert acked == [4, 5, 6, 7]

        # Each socket sees every message once, in order: what it missed while its shard's
        # subscription moved is filled from history.
        for socket in (customer, shopper):
            assert await socket.messages_until(7) == [1, 2, 3, 4, 5, 6, 7]
        transcript = await until_ok(
            node_b, lambda: node_b.http.get(f"/v1/orders/{ORDER}/messages", headers=auth(OPERATOR_KEY))
        )
        assert [m["text"] for m in transcript["messages"]] == [
            "before 1", "before 2", "before 3", "during 1", "during 2", "during 3", "after",
        ]

        # Texts and callbacks still go, through job buckets on every shard, the new primary's too.
        event = await until_ok(node_b, lambda: node_b.event(ORDER, "delivered", "e-delivered"))
        assert event["status"] == "delivered"
        sent = await fake_twilio.wait_for(
            lambda: any("was delivered" in r.form["Body"] for r in fake_twilio.accepted), timeout=RECOVERY
        )
        assert sum("is shopping" in r.form["Body"] for r in sent) >= 1
        called = await callback_receiver.wait_for(2, timeout=RECOVERY)
        assert [r.json()["event_name"] for r in called][-1] == "fulfillment.delivered"


async def test_a_cluster_no_node_answers_is_an_outage_not_a_failure() -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = base_config(gateway={"redis_url": f"redis://127.0.0.1:{port}", "redis_cluster": True})
    async with running_gateway(config) as node:  # it starts, as on one Redis that is down
        ready = await node.http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["store"] is False
        created = await node.create_order("o-nowhere")
        assert created.status_code == 503 and created.json()["error"]["code"] == "unavailable"
