"""RedisOutbox: the outbox of scale-out mode (see gateway/jobs/outbox.py). Each order's debts
are a hash under its hash tag (OrderKeys.owed), written by the chat log's and the order
store's own atomic steps; the orders that may owe something are a sorted set (on a cluster,
one per bucket: an order's bucket is a hash of its id, so the index is on every shard)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from gateway import redis_connection
from gateway.jobs.buckets import by_bucket, earliest_due
from gateway.jobs.debts import Debt, entry_debt
from gateway.jobs.redis import QueueUnavailable
from gateway.redis_connection import unreachable_as
from gateway.store.keys import OrderKeys, bucket, outbox_index

# Takes up to ARGV[3] orders marked by ARGV[1] and leases each until ARGV[2] (re-scoring it).
_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""

# Unmarks an order unless someone marked it again since it was leased.
_FORGET = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
"""

_reachable = unreachable_as(QueueUnavailable)


class RedisOutbox:
    def __init__(self, redis: aioredis.Redis | RedisCluster) -> None:
        self._redis = redis
        self._buckets = redis_connection.buckets(redis)
        self._due = redis.register_script(_DUE)
        self._forget = redis.register_script(_FORGET)

    @_reachable
    async def owed(self, order_id: str) -> list[Debt]:
        entries = await self._redis.hgetall(OrderKeys(order_id).owed)
        return [entry_debt(job_id, value) for job_id, value in entries.items()]

    @_reachable
    async def settle(self, order_id: str, job_ids: Sequence[str]) -> None:
        if job_ids:
            await self._redis.hdel(OrderKeys(order_id).owed, *job_ids)

    @_reachable
    async def due(self, now: float, lease: float, limit: int) -> list[tuple[str, float]]:
        until = now + lease
        if self._buckets == 1:
            ids = await self._due(keys=[outbox_index()], args=[repr(now), repr(until), limit])
            return [(raw.decode(), until) for raw in ids]
        earliest = await earliest_due(self._redis, [outbox_index(n) for n in range(self._buckets)], now, limit)
        leased = await asyncio.gather(*(
            self._due(keys=[outbox_index(n)], args=[repr(now), repr(until), len(ids)])
            for n, ids in by_bucket(earliest).items()
        ))
        return [(raw.decode(), until) for ids in leased for raw in ids]

    @_reachable
    async def forget(self, order_id: str, score: float) -> None:
        await self._forget(keys=[self._index(order_id)], args=[order_id, repr(score)])

    @_reachable
    async def mark(self, order_id: str, at: float) -> None:
        await self._redis.zadd(self._index(order_id), {order_id: at})

    def _index(self, order_id: str) -> str:
        return outbox_index(bucket(order_id, self._buckets))
