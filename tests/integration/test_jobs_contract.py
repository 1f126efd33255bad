"""The JobQueue contract (gateway/jobs/base.py), proven against MemoryJobQueue and RedisJobQueue.
Time is passed in as `now`, so leases and due times need no waiting."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from gateway import redis_connection
from gateway.jobs.base import Job, JobQueue
from gateway.jobs.memory import MemoryJobQueue
from gateway.jobs.redis import QueueUnavailable, RedisJobQueue
from gateway.redis_connection import CLUSTER_BUCKETS
from support.redis_cluster import RedisCluster, started_cluster_client
from support.redis_server import RedisServer

pytestmark = pytest.mark.integration

NOW = 1_700_000_000.0


@pytest.fixture(params=["memory", "redis", "cluster"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[JobQueue]:
    client = None
    if request.param == "memory":
        queue: JobQueue = MemoryJobQueue()
    elif request.param == "redis":
        client = redis_connection.client(request.getfixturevalue("redis_url"))
        queue = RedisJobQueue(client, prefix=f"jobs-{uuid.uuid4().hex}")
    else:
        client = await started_cluster_client(request.getfixturevalue("redis_cluster_url"))
        queue = RedisJobQueue(client, prefix=f"jobs-{uuid.uuid4().hex}", buckets=CLUSTER_BUCKETS)
    await queue.start()
    yield queue
    await queue.close()
    if client is not None:
        await client.aclose()


def job(kind: str = "text", payload: bytes = b"payload") -> Job:
    return Job(id=f"j-{uuid.uuid4().hex}", kind=kind, payload=payload, first_at=NOW)


async def test_claimed_job_is_leased_and_done_removes_it(queue: JobQueue) -> None:
    first = job()
    await queue.put(first, due_at=NOW)
    assert await queue.claim("text", NOW, lease=60, limit=10) == [first]
    assert await queue.claim("text", NOW + 1, lease=60, limit=10) == []  # someone holds it
    await queue.done(first)
    assert await queue.claim("text", NOW + 3600, lease=60, limit=10) == []


async def test_job_is_not_claimed_before_it_is_due(queue: JobQueue) -> None:
    later = job()
    await queue.put(later, due_at=NOW + 30)
    assert await queue.claim("text", NOW + 29.5, lease=60, limit=10) == []
    assert await queue.claim("text", NOW + 30, lease=60, limit=10) == [later]


async def test_job_whose_lease_ran_out_is_claimed_again(queue: JobQueue) -> None:
    orphan = job()
    await queue.put(orphan, due_at=NOW)
    assert await queue.claim("text", NOW, lease=5, limit=10) == [orphan]
    assert await queue.claim("text", NOW + 4.9, lease=5, limit=10) == []
    assert await queue.claim("text", NOW + 5, lease=5, limit=10) == [orphan]


async def test_retry_puts_the_updated_job_back_at_its_new_due_time(queue: JobQueue) -> None:
    original = job()
    await queue.put(original, due_at=NOW)
    [claimed] = await queue.claim("text", NOW, lease=60, limit=10)
    updated = msgspec.structs.replace(claimed, attempts=1, payload=b"updated")
    await queue.retry(updated, due_at=NOW + 10)
    assert await queue.claim("text", NOW + 9, lease=60, limit=10) == []
    assert await queue.claim("text", NOW + 10, lease=60, limit=10) == [updated]


async def test_claim_takes_the_earliest_due_of_its_kind_up_to_the_limit(queue: JobQueue) -> None:
    jobs = [job() for _ in range(3)]
    for offset, each in zip((3, 1, 2), jobs):
        await queue.put(each, due_at=NOW + offset)
    callback = job(kind="callback")
    await queue.put(callback, due_at=NOW)
    assert await queue.claim("text", NOW + 5, lease=60, limit=2) == [jobs[1], jobs[2]]
    assert await queue.claim("text", NOW + 5, lease=60, limit=2) == [jobs[0]]
    assert await queue.claim("callback", NOW + 5, lease=60, limit=0) == []
    assert await queue.claim("callback", NOW + 5, lease=60, limit=2) == [callback]


async def test_putting_a_queued_id_again_replaces_it(queue: JobQueue) -> None:
    first = job()
    await queue.put(first, due_at=NOW)
    replacement = msgspec.structs.replace(first, payload=b"newer")
    await queue.put(replacement, due_at=NOW + 1)
    assert await queue.claim("text", NOW + 1, lease=60, limit=10) == [replacement]


async def test_redis_queue_keeps_jobs_across_a_restart_and_reports_outages(
    restartable_redis: RedisServer,
) -> None:
    client = redis_connection.client(restartable_redis.url)
    queue = RedisJobQueue(client)
    kept = job()
    try:
        await queue.put(kept, due_at=NOW)
        await restartable_redis.astop()
        # A ConnectionError, so the Worker rides it out.
        with pytest.raises(QueueUnavailable) as raised:
            await queue.claim("text", NOW, lease=60, limit=10)
        assert isinstance(raised.value, ConnectionError)
        await restartable_redis.astart()
        assert await queue.claim("text", NOW, lease=60, limit=10) == [kept]
    finally:
        await client.aclose()


async def test_cluster_queue_spreads_jobs_over_every_shard(redis_cluster: RedisCluster) -> None:
    client = await started_cluster_client(redis_cluster.url)
    # A fixed prefix, so the buckets' slots (and the shards they fall on) are the same each run.
    prefix = "jobs-spread"
    queue = RedisJobQueue(client, prefix=prefix, buckets=CLUSTER_BUCKETS)
    try:
        jobs = [job() for _ in range(64)]
        for each in jobs:
            await queue.put(each, due_at=NOW)
        per_shard = {}
        for node in redis_cluster.primaries():
            with node.client() as direct:
                per_shard[node.port] = sum(
                    direct.hlen(key) for key in direct.scan_iter(match=f"{{{prefix}:text:*}}:jobs")
                )
        assert sum(per_shard.values()) == 64
        assert all(count > 0 for count in per_shard.values()), per_shard
        claimed = await queue.claim("text", NOW, lease=60, limit=100)
        assert sorted(each.id for each in claimed) == sorted(each.id for each in jobs)
        assert await queue.claim("text", NOW, lease=60, limit=100) == []  # all leased
        assert await queue.depth("text") == 64  # counted over every bucket
        for each in claimed:
            await queue.done(each)
    finally:
        await client.aclose()
