"""The MediaStore contract (gateway/media/base.py) against the memory and the Redis stores:
a photo is found only under its order, and goes when its order goes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from gateway.media.base import MediaStore, Photo
from gateway.media.memory import MemoryMediaStore
from gateway.media.redis import RedisMediaStore
from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Workflow
from gateway.redis_connection import client as redis_client
from gateway.store.base import OrderStore
from gateway.store.memory import MemoryOrderStore
from gateway.store.records import OrderRecord
from gateway.store.redis import RedisOrderStore
from support.clocks import FakeClock
from support.redis_cluster import started_cluster_client
pytestmark = pytest.mark.integration
@dataclass
class Backend:
    orders: OrderStore
    media: MediaStore
    other_media: MediaStore  # another node's, on the same data
    clock: FakeClock | None  # None: real time (Redis TTLs)
    redis: aioredis.Redis | None


@pytest.fixture(params=["memory", "redis", "cluster"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = FakeClock()
        orders = MemoryOrderStore(clock=clock)
        media = MemoryMediaStore(orders)
        yield Backend(orders=orders, media=media, other_media=media, clock=clock, redis=None)
        return
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        node, other_node, probe = [await started_cluster_client(url) for _ in range(3)]
    else:
        url = request.getfixturevalue("redis_url")
        node, other_node, probe = redis_client(url), redis_client(url), aioredis.Redis.from_url(url)
    yield Backend(
        orders=RedisOrderStore(node), media=RedisMediaStore(node), other_media=RedisMediaStore(other_node),
        clock=None, redis=probe,
    )
    for connection in (node, other_node, probe):
        await connection.aclose()


async def new_order(backend: Backend) -> str:
    order = OrderRecord(
        id=f"o-{uuid.uuid4().hex}", retailer="demo", workflow=Workflow.DELIVERY, customer_phone="+15551230001",
        request_digest="digest", consent=Consent(opt_in=True, source=ConsentSource.ORDER),
        sender="+15005550006", created_at=1_700_000_000.0,
    )
    await backend.orders.create_order(order)
    return order.id


def photo(data: bytes = b"\xff\xd8\xff bytes", content_type: str = "image/jpeg") -> Photo:
    return Photo(id=uuid.uuid4().hex, content_type=content_type, data=data)


async def test_a_stored_photo_is_read_back_on_any_node(backend: Backend) -> None:
    order_id = await new_order(backend)
    stored = photo(bytes(range(256)) * 100)  # every byte value: binary-safe
    assert await backend.media.put(order_id, stored)
    assert await backend.other_media.get(order_id, stored.id) == stored
    png = photo(content_type="image/png")
    await backend.media.put(order_id, png)
    assert await backend.other_media.types(order_id, [stored.id, "unknown", png.id]) == {
        stored.id: "image/jpeg", png.id: "image/png",
    }


async def test_a_photo_is_found_only_under_its_own_order(backend: Backend) -> None:
    mine, theirs = await new_order(backend), await new_order(backend)
    stored = photo()
    await backend.media.put(mine, stored)
    assert await backend.media.get(theirs, stored.id) is None
    assert await backend.media.types(theirs, [stored.id]) == {}
    assert await backend.media.get(mine, "unknown") is None


async def test_no_photo_is_stored_for_an_unknown_order(backend: Backend) -> None:
    stored = photo()
    assert not await backend.media.put("o-missing", stored)
    assert await backend.media.get("o-missing", stored.id) is None
    if backend.redis is not None:
        assert [key async for key in backend.redis.scan_iter(match="*o-missing*")] == []


@pytest.mark.parametrize("stored_after_expiry", [False, True], ids=["before", "after"])
async def test_photos_go_with_their_order(backend: Backend, stored_after_expiry: bool) -> None:
    order_id = await new_order(backend)
    stored = photo()
    if not stored_after_expiry:
        await backend.media.put(order_id, stored)
    await backend.orders.expire_order(order_id, 60)
    if stored_after_expiry:  # e.g. an MMS photo fetched after the chat closed
        assert await backend.media.put(order_id, stored)
    if backend.redis is not None:
        # Redis's own clock expires the keys: every key of the order, the photos' too, is
        # set to go at the one instant its record goes.
        keys = [key async for key in backend.redis.scan_iter(match=f"*{order_id}*")]
        assert len(keys) == 3  # the record and the two photo hashes
        instants = {await backend.redis.pexpiretime(key) for key in keys}
        assert len(instants) == 1 and instants.pop() > 0
        return
    assert backend.clock is not None
    backend.clock.now += 60
    assert await backend.orders.get_order(order_id) is None
    assert await backend.media.get(order_id, stored.id) is None
    assert await backend.media.types(order_id, [stored.id]) == {}
