"""The Broker contract (gateway/broker/base.py), proven against MemoryBroker and RedisBroker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway import redis_connection
from gateway.broker.base import RESUBSCRIBED, Broker, BrokerUnavailable
from gateway.broker.cluster import RedisClusterBroker
from gateway.broker.memory import MemoryBroker
from gateway.broker.redis import RedisBroker
from support.redis_cluster import RedisCluster
from support.redis_server import RedisServer

pytestmark = pytest.mark.integration

TIMEOUT = 5.0


class redis_broker(RedisBroker):  # noqa: N801 - reads as a constructor in the tests
    """A RedisBroker with a command client of its own, closed with it (a node's parts share one)."""

    def __init__(self, url: str, **options) -> None:
        self._own = redis_connection.client(url)
        super().__init__(url, self._own, **options)

    async def close(self) -> None:
        await super().close()
        await self._own.aclose()


class cluster_broker(RedisClusterBroker):  # noqa: N801 - reads as a constructor in the tests
    """A RedisClusterBroker with a cluster client of its own, closed with it."""

    def __init__(self, url: str, **options) -> None:
        self._own = redis_connection.cluster_client(url)
        super().__init__(url, self._own, **options)

    async def close(self) -> None:
        await super().close()
        await self._own.aclose()


@pytest.fixture(params=["memory", "redis", "cluster"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "memory":
        broker: Broker = MemoryBroker()
    elif request.param == "redis":
        broker = redis_broker(request.getfixturevalue("redis_url"))
    else:
        broker = cluster_broker(request.getfixturevalue("redis_cluster_url"))
    await broker.start()
    yield broker
    await broker.close()


@pytest.fixture
def channel() -> str:
    return f"{{order:{uuid.uuid4().hex}}}:frames"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def next_payload(payloads: AsyncIterator[bytes]) -> bytes:
    return await asyncio.wait_for(anext(payloads), TIMEOUT)


async def subscriber_count(client: aioredis.Redis, channel: str) -> int:
    [(_, count)] = await client.pubsub_numsub(channel)
    return count


# both brokers ------------------------------------------------------------------------------


async def test_publisher_receives_its_own_payloads_in_order(broker: Broker, channel: str) -> None:
    async with broker.subscribe(channel) as payloads:
        for payload in (b"one", b"two", b"three"):
            await broker.publish(channel, payload)
        assert [await next_payload(payloads) for _ in range(3)] == [b"one", b"two", b"three"]
    assert await broker.ping()


async def test_payloads_stay_on_their_channel(broker: Broker, channel: str) -> None:
    async with broker.subscribe(channel) as payloads:
        await broker.publish(channel + "-other", b"elsewhere")
        await broker.publish(channel, b"here")
        assert await next_payload(payloads) == b"here"


async def test_two_subscribers_both_receive_and_one_leaving_keeps_the_other(
    broker: Broker, channel: str
) -> None:
    async with broker.subscribe(channel) as staying:
        async with broker.subscribe(channel) as leaving:
            await broker.publish(channel, b"both")
            assert await next_payload(staying) == b"both"
            assert await next_payload(leaving) == b"both"
        await broker.publish(channel, b"still")
        assert await next_payload(staying) == b"still"


# redis -----------------------------------------------------------------------------------


async def test_subscription_is_live_when_subscribe_returns(
    redis_url: str, redis_client: aioredis.Redis, channel: str
) -> None:
    broker = redis_broker(redis_url)
    await broker.start()
    try:
        async with broker.subscribe(channel) as payloads:
            # Published by another client straight away: the SUBSCRIBE must be confirmed.
            await redis_client.publish(channel, b"first")
            assert await next_payload(payloads) == b"first"
    finally:
        await broker.close()


async def test_payload_crosses_nodes(redis_url: str, channel: str) -> None:
    node_a, node_b = redis_broker(redis_url), redis_broker(redis_url)
    for node in (node_a, node_b):
        await node.start()
    try:
        async with node_a.subscribe(channel) as on_a, node_b.subscribe(channel) as on_b:
            await node_a.publish(channel, b"from a")
            assert (await next_payload(on_a), await next_payload(on_b)) == (b"from a", b"from a")
    finally:
        for node in (node_a, node_b):
            await node.close()


async def test_one_redis_subscription_per_channel_released_by_the_last_subscriber(
    redis_url: str, redis_client: aioredis.Redis, channel: str
) -> None:
    broker = redis_broker(redis_url)
    await broker.start()
    try:
        async with broker.subscribe(channel):
            async with broker.subscribe(channel):
                assert await subscriber_count(redis_client, channel) == 1
            assert await subscriber_count(redis_client, channel) == 1
        assert await subscriber_count(redis_client, channel) == 0
        async with broker.subscribe(channel) as payloads:  # and it can come back
            await redis_client.publish(channel, b"again")
            assert await next_payload(payloads) == b"again"
    finally:
        await broker.close()


async def test_leaving_on_cancellation_unsubscribes(
    redis_url: str, redis_client: aioredis.Redis, channel: str
) -> None:
    broker = redis_broker(redis_url)
    await broker.start()
    entered = asyncio.Event()

    async def listen() -> None:
        async with broker.subscribe(channel) as payloads:
            entered.set()
            await anext(payloads)

    try:
        task = asyncio.create_task(listen())
        await asyncio.wait_for(entered.wait(), TIMEOUT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await subscriber_count(redis_client, channel) == 0
    finally:
        await broker.close()


async def test_outage_fails_publishes_then_resubscribes_and_signals_the_gap(
    restartable_redis: RedisServer, channel: str
) -> None:
    broker = redis_broker(restartable_redis.url, backoff_cap=0.2)
    await broker.start()
    try:
        async with broker.subscribe(channel) as payloads:
            await restartable_redis.astop()
            with pytest.raises(BrokerUnavailable):
                await broker.publish(channel, b"lost")
            assert not await broker.ping()
            await restartable_redis.astart()
            # Re-subscribed: RESUBSCRIBED says "you may have missed some".
            assert await next_payload(payloads) is RESUBSCRIBED
            await broker.publish(channel, b"after")
            assert await next_payload(payloads) == b"after"
            assert await broker.ping()
    finally:
        await broker.close()


async def test_subscribing_while_redis_is_down_fails_clearly(
    restartable_redis: RedisServer, channel: str
) -> None:
    broker = redis_broker(restartable_redis.url, confirm_timeout=0.3)
    await broker.start()
    try:
        await restartable_redis.astop()
        with pytest.raises(BrokerUnavailable, match="SUBSCRIBE"):
            async with broker.subscribe(channel):
                pass
    finally:
        await broker.close()



# redis cluster (sharded pub/sub) ---------------------------------------------------------


def channel_on_each_shard(cluster: RedisCluster) -> dict[int, str]:
    """A fresh order channel for every primary: its port -> the channel."""
    channels: dict[int, str] = {}
    while len(channels) < len(cluster.primaries()):
        channel = f"{{order:{uuid.uuid4().hex}}}:frames"
        channels.setdefault(cluster.node_for_key(channel).port, channel)
    return channels


def sharded_subscribers(cluster: RedisCluster) -> dict[int, list[int]]:
    """Each primary's port -> how many shard channels each of its pub/sub clients holds."""
    counts: dict[int, list[int]] = {}
    for node in cluster.primaries():
        with node.client() as client:
            clients = client.client_list(_type="pubsub")
        counts[node.port] = [int(entry["ssub"]) for entry in clients if int(entry.get("ssub", 0))]
    return counts


async def test_cluster_publishes_only_on_the_shard_owning_the_order(
    redis_cluster: RedisCluster, channel: str
) -> None:
    broker = cluster_broker(redis_cluster.url)
    await broker.start()
    try:
        async with broker.subscribe(channel) as payloads:
            owner = redis_cluster.node_for_key(channel)
            for node in redis_cluster.primaries():
                with node.client() as client:
                    [_, count] = client.execute_command("PUBSUB", "SHARDNUMSUB", channel)
                assert count == (1 if node is owner else 0), node.port
            # Published by another client straight away: the SSUBSCRIBE must be confirmed.
            with owner.client() as client:
                assert client.execute_command("SPUBLISH", channel, "first") == 1
            assert await next_payload(payloads) == b"first"
    finally:
        await broker.close()


async def test_cluster_payload_crosses_nodes(redis_cluster: RedisCluster, channel: str) -> None:
    node_a, node_b = cluster_broker(redis_cluster.url), cluster_broker(redis_cluster.url)
    for node in (node_a, node_b):
        await node.start()
    try:
        async with node_a.subscribe(channel) as on_a, node_b.subscribe(channel) as on_b:
            await node_b.publish(channel, b"from b")
            assert (await next_payload(on_a), await next_payload(on_b)) == (b"from b", b"from b")
    finally:
        for node in (node_a, node_b):
            await node.close()


async def test_cluster_holds_one_connection_per_shard_and_releases_channels(redis_cluster: RedisCluster) -> None:
    broker = cluster_broker(redis_cluster.url)
    await broker.start()
    first, second = channel_on_each_shard(redis_cluster), channel_on_each_shard(redis_cluster)
    try:
        async with contextlib.AsyncExitStack() as stack:
            streams = {}
            for channel in [*first.values(), *second.values()]:
                streams[channel] = await stack.enter_async_context(broker.subscribe(channel))
            assert sharded_subscribers(redis_cluster) == {port: [2] for port in first}
            for channel, payloads in streams.items():
                await broker.publish(channel, channel.encode())
                assert await next_payload(payloads) == channel.encode()
        assert sharded_subscribers(redis_cluster) == {port: [] for port in first}
    finally:
        await broker.close()


async def test_cluster_follows_a_slot_that_moves_and_signals_the_gap(redis_cluster: RedisCluster, channel: str) -> None:
    broker = cluster_broker(redis_cluster.url)
    await broker.start()
    try:
        async with broker.subscribe(channel) as payloads:
            # The shard drops the channel (a `sunsubscribe` push) when its slot moves away.
            new_owner = await asyncio.to_thread(redis_cluster.move_slot_of, channel)
            assert await next_payload(payloads) is RESUBSCRIBED
            with new_owner.client() as client:
                assert client.execute_command("SPUBLISH", channel, "after the move") == 1
            assert await next_payload(payloads) == b"after the move"
    finally:
        await broker.close()


async def test_cluster_subscribes_through_a_stale_slot_map(redis_cluster: RedisCluster, channel: str) -> None:
    broker = cluster_broker(redis_cluster.url)
    await broker.start()
    try:
        async with broker.subscribe(f"{{order:{uuid.uuid4().hex}}}:frames"):  # the map is read
            await asyncio.to_thread(redis_cluster.move_slot_of, channel)
            # The SSUBSCRIBE goes to the slot's former owner, which answers -MOVED.
            async with broker.subscribe(channel) as payloads:
                await broker.publish(channel, b"found")
                assert await next_payload(payloads) == b"found"
    finally:
        await broker.close()


@pytest.mark.slow
async def test_cluster_failover_resubscribes_on_the_new_primary_and_signals_the_gap(
    failover_cluster: RedisCluster, channel: str
) -> None:
    broker = cluster_broker(failover_cluster.url, backoff_cap=0.2)
    await broker.start()
    try:
        async with broker.subscribe(channel) as payloads:
            await broker.publish(channel, b"before")
            assert await next_payload(payloads) == b"before"
            killed = await asyncio.to_thread(failover_cluster.kill_primary_of, channel)
            assert await next_payload(payloads) is RESUBSCRIBED
            assert failover_cluster.node_for_key(channel).port == killed.successor
            with pytest.raises(BrokerUnavailable):  # the client's command on the dead node fails, once
                await broker.publish(channel, b"maybe")
            await broker.publish(channel, b"after")
            assert await next_payload(payloads) == b"after"
            assert await broker.ping()
    finally:
        await broker.close()
