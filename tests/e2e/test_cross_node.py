"""Two gateway nodes on one Redis or one Redis Cluster: any node serves any socket, and chat
crosses between them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection

from support.app_server import RunningGateway, base_config, frame_of, join, running_gateway, send_text

pytestmark = pytest.mark.e2e


@pytest.fixture
async def nodes(redis_gateway: dict) -> AsyncIterator[tuple[RunningGateway, RunningGateway]]:
    config = base_config(gateway=redis_gateway)
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        yield node_a, node_b


@pytest.fixture
def order_id() -> str:
    return f"o-{uuid.uuid4().hex}"


async def messages_until(ws: ClientConnection, seq: int) -> list[int]:
    """The seqs of the message frames this socket receives, up to and including `seq`."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < seq:
        seqs.append((await frame_of(ws, "message"))["message"]["seq"])
    return seqs


async def test_shopper_and_customer_on_different_nodes_chat_both_ways(nodes, order_id: str) -> None:
    node_a, node_b = nodes
    view = await node_a.picking_order(order_id)
    shopper = await node_a.connect("shopper", await node_a.shopper_token())
    customer = await node_b.connect("customer", view["customer_token"])
    await join(shopper, order_id)
    await join(customer, order_id)

    await send_text(shopper, order_id, "Bananas are green, ok?", "s1")
    got = await frame_of(customer, "message")
    assert (got["message"]["seq"], got["message"]["text"]) == (1, "Bananas are green, ok?")
    assert got["message"]["from"] == "shopper"

    await send_text(customer, order_id, "Yes please", "c1")
    assert (await frame_of(customer, "ack"))["message"]["seq"] == 2
    # The shopper's socket gets both, its own included, through the one broker path.
    assert await messages_until(shopper, 2) == [1, 2]


async def test_customer_resumes_on_the_other_node_without_gap_or_duplicate(nodes, order_id: str) -> None:
    node_a, node_b = nodes
    view = await node_a.picking_order(order_id)
    shopper = await node_a.connect("shopper", await node_a.shopper_token())
    await join(shopper, order_id)
    customer = await node_b.connect("customer", view["customer_token"])
    await join(customer, order_id)
    for i in (1, 2):
        await send_text(shopper, order_id, f"m{i}", f"s{i}")
    assert await messages_until(customer, 2) == [1, 2]
    await customer.close()

    for i in (3, 4):  # while the customer is away
        await send_text(shopper, order_id, f"m{i}", f"s{i}")
    assert await messages_until(shopper, 4) == [1, 2, 3, 4]

    again = await node_a.connect("customer", view["customer_token"])
    joined = await join(again, order_id, after=2)
    assert [m["seq"] for m in joined["history"]] == [3, 4]
    assert joined["last_seq"] == 4 and not joined.get("history_lost", False)
    await send_text(shopper, order_id, "m5", "s5")
    assert await messages_until(again, 5) == [5]


async def test_a_send_retried_on_the_other_node_is_stored_once(nodes, order_id: str) -> None:
    node_a, node_b = nodes
    view = await node_a.picking_order(order_id)
    shopper = await node_a.connect("shopper", await node_a.shopper_token())
    await join(shopper, order_id)
    customer = await node_b.connect("customer", view["customer_token"])
    await join(customer, order_id)
    await send_text(customer, order_id, "Is it ready?", "k1")
    first = (await frame_of(customer, "ack"))["message"]
    await customer.close()  # as if the ack had been lost with the connection

    again = await node_a.connect("customer", view["customer_token"])
    await join(again, order_id, after=first["seq"])
    await send_text(again, order_id, "Is it ready?", "k1")
    assert (await frame_of(again, "ack"))["message"] == first
    await send_text(again, order_id, "Thanks", "k2")
    assert (await frame_of(again, "ack"))["message"]["seq"] == first["seq"] + 1
    assert await messages_until(shopper, first["seq"] + 1) == [first["seq"], first["seq"] + 1]
