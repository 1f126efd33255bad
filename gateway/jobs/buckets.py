"""Sorted sets of due ids spread over buckets (a Redis Cluster: gateway/redis_connection.py
CLUSTER_BUCKETS), and how to find the earliest due across all of them."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster


async def earliest_due(
    redis: aioredis.Redis | RedisCluster, due_keys: list[str], now: float, limit: int
) -> list[tuple[int, bytes]]:
    """The `limit` earliest ids due by `now` over every bucket's sorted set, earliest first,
    as (bucket, id): one pipelined look (a round trip per shard). Only a look: leasing them
    is each bucket's own atomic script, which skips an id another node took meanwhile."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in due_keys:
            pipe.zrangebyscore(key, "-inf", now, start=0, num=limit, withscores=True)
        seen = await pipe.execute()
    earliest = sorted((score, bucket, found) for bucket, rows in enumerate(seen) for found, score in rows)
    return [(bucket, found) for _, bucket, found in earliest[:limit]]


def by_bucket(due: list[tuple[int, bytes]]) -> dict[int, list[bytes]]:
    grouped: dict[int, list[bytes]] = {}
    for bucket, found in due:
        grouped.setdefault(bucket, []).append(found)
    return grouped
