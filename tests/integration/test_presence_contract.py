"""The Presence contract (gateway/presence/base.py), proven against MemoryPresence and
RedisPresence: two nodes see the same presence, leases end, reads only grow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Workflow
from gateway.presence.base import Presence
from gateway.presence.memory import MemoryPresence
from gateway.presence.redis import RedisPresence
from gateway.redis_connection import client as redis_client
from gateway.store.memory import MemoryOrderStore
from gateway.store.records import OrderRecord
from gateway.store.redis import RedisOrderStore

from support.redis_cluster import started_cluster_client

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
SHORT_LEASE = 0.3


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    node_a: Presence
    node_b: Presence  # another node on the same data (the same object in embedded mode)
    short: Presence  # leases of SHORT_LEASE seconds
    orders: object
    clock: FakeClock | None  # None: Redis's own clock

    async def lease_ends(self, order_id: str) -> None:
        """Waits, without a refresh, until a SHORT_LEASE lease has ended."""
        if self.clock is not None:
            self.clock.now += SHORT_LEASE
        await until(lambda: _absent(self.short, order_id))


async def _absent(presence: Presence, order_id: str) -> bool:
    return not await presence.present(order_id)


async def until(condition: Callable[[], object]) -> None:
    async def poll() -> None:
        while not await condition():  # type: ignore[misc]
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), TIMEOUT)


@pytest.fixture(params=["memory", "redis", "cluster"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = FakeClock()
        orders = MemoryOrderStore(clock)
        presence = MemoryPresence(orders, clock)
        yield Backend(presence, presence, MemoryPresence(orders, clock, lease=SHORT_LEASE), orders, clock)
        return
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        a, b = await started_cluster_client(url), await started_cluster_client(url)
    else:
        url = request.getfixturevalue("redis_url")
        a, b = redis_client(url), redis_client(url)
    yield Backend(RedisPresence(a), RedisPresence(b), RedisPresence(a, lease=SHORT_LEASE), RedisOrderStore(a), None)
    for connection in (a, b):
        await connection.aclose()


async def new_order(backend: Backend) -> str:
    order = OrderRecord(
        id=f"o-{uuid.uuid4().hex}", retailer="demo", workflow=Workflow.DELIVERY, customer_phone="+15551230001",
        request_digest="d", consent=Consent(True, ConsentSource.ORDER), sender="+15005550006",
        created_at=1_700_000_000.0,
    )
    await backend.orders.create_order(order)
    return order.id


async def test_a_visible_socket_is_present_on_every_node(backend: Backend) -> None:
    order_id = await new_order(backend)
    assert not await backend.node_b.present(order_id)
    await backend.node_a.mark(order_id, "a:1", visible=True)
    assert await backend.node_b.present(order_id)


async def test_hidden_or_gone_is_not_present_but_another_visible_socket_still_is(backend: Backend) -> None:
    order_id = await new_order(backend)
    await backend.node_a.mark(order_id, "a:1", visible=True)
    await backend.node_b.mark(order_id, "b:1", visible=True)
    await backend.node_a.mark(order_id, "a:1", visible=False)
    assert await backend.node_a.present(order_id)  # b:1 still reads
    await backend.node_b.gone(order_id, "b:1")
    assert not await backend.node_a.present(order_id)


async def test_a_lease_that_is_not_refreshed_ends(backend: Backend) -> None:
    order_id = await new_order(backend)
    await backend.short.mark(order_id, "dead-node:1", visible=True)
    assert await backend.short.present(order_id)
    await backend.lease_ends(order_id)  # the node that marked it died: nobody refreshes


async def test_a_refreshed_lease_holds_and_refresh_revives_nothing_hidden(backend: Backend) -> None:
    order_id = await new_order(backend)
    await backend.node_a.mark(order_id, "a:1", visible=True)
    await backend.node_a.refresh([(order_id, "a:1"), (order_id, "a:hidden")])
    assert await backend.node_a.present(order_id)
    await backend.node_a.gone(order_id, "a:1")
    await backend.node_a.refresh([(order_id, "a:1")])  # too late: it is gone
    assert not await backend.node_b.present(order_id)


async def test_reads_only_grow_and_are_seen_by_every_node(backend: Backend) -> None:
    order_id = await new_order(backend)
    assert await backend.node_b.read_upto(order_id) == 0
    await backend.node_a.read(order_id, 5)
    await backend.node_b.read(order_id, 3)  # a late read frame
    assert await backend.node_b.read_upto(order_id) == 5
    await backend.node_b.read(order_id, 7)
    assert await backend.node_a.read_upto(order_id) == 7
