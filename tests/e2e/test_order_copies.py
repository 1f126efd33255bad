"""A node keeps a copy of each followed order's record so a chat message costs one Redis
round trip; a change made through any node reaches the next send, even one that reaches
its node before the note that the record changed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
import redis.asyncio as aioredis

from gateway.policy.consent import Consent, ConsentSource
from gateway.store.records import Shopper
from gateway.store.redis import RedisOrderStore
from support.app_server import RunningGateway, auth, base_config, frame_of, join, running_gateway, send_text

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[tuple[RunningGateway, RunningGateway]]:
    config = base_config(gateway={"redis_url": redis_url})
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        yield node_a, node_b


async def _receipt(ws, seq: int) -> str:
    while True:
        frame = await frame_of(ws, "receipt")
        if frame["seq"] == seq:
            return frame["sms"]


async def _write_unannounced(redis_url: str, order_id: str, change) -> None:
    """Writes the record as a node would, but announces nothing: as if the note that it
    changed were still on its way to the other nodes."""
    client = aioredis.from_url(redis_url)
    try:
        await RedisOrderStore(client).update_order(order_id, lambda record: (change(record), None))
    finally:
        await client.aclose()


# Through node B's API (its note reaches node A's copy), or unannounced (node A decides on
# its copy, the append finds the record newer, and node A decides again on the record).
HOW = pytest.mark.parametrize("announced", [True, False], ids=["through-node-b", "note-not-yet-arrived"])


@HOW
async def test_a_consent_change_on_another_node_reaches_the_next_message(nodes, redis_url: str, announced: bool) -> None:
    node_a, node_b = nodes
    order_id = f"o-{uuid.uuid4().hex}"
    view = await node_a.picking_order(order_id, sms_opt_in=False)
    shopper = await node_a.connect("shopper", await node_a.shopper_token())
    await join(shopper, order_id)
    await send_text(shopper, order_id, "Green bananas ok?", "m1")
    assert await _receipt(shopper, 1) == "not_sent"  # node A now holds the record: opted out

    if announced:
        turned_on = await node_b.http.put(
            f"/v1/orders/{order_id}/sms", json={"opt_in": True}, headers=auth(view["customer_token"])
        )
        assert turned_on.status_code == 200, turned_on.text
    else:
        consent = Consent(opt_in=True, source=ConsentSource.CUSTOMER)
        await _write_unannounced(redis_url, order_id, lambda record: record.with_consent(consent, 0.0))

    await send_text(shopper, order_id, "Or yellow?", "m2")
    assert await _receipt(shopper, 2) == "queued"


@HOW
async def test_a_shopper_reassigned_on_another_node_may_no_longer_send(nodes, redis_url: str, announced: bool) -> None:
    node_a, node_b = nodes
    order_id = f"o-{uuid.uuid4().hex}"
    await node_a.picking_order(order_id, shopper_id="shopper-1")
    shopper = await node_a.connect("shopper", await node_a.shopper_token("shopper-1"))
    await join(shopper, order_id)
    await send_text(shopper, order_id, "On it", "m1")
    assert (await frame_of(shopper, "ack"))["message"]["seq"] == 1

    if announced:
        moved = await node_b.event(order_id, "checkout", shopper={"id": "shopper-2", "name": "Sam"})
        assert moved.status_code == 200, moved.text
    else:
        sam = Shopper(id="shopper-2", name="Sam")
        await _write_unannounced(redis_url, order_id, lambda record: msgspec.structs.replace(record, shopper=sam))

    await send_text(shopper, order_id, "Still here", "m2")
    refused = await frame_of(shopper, "error")
    assert (refused["code"], refused["client_id"]) == ("not_authorized", "m2")
