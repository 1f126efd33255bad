"""RedisOutbox: the outbox of scale-out mode (see gateway/jobs/outbox.py). Each order's debts
are a hash under its hash tag (OrderKeys.owed), written by the chat log's and the order
store's own atomic steps; the orders that may owe something are a sorted set."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from gateway.jobs.debts import Debt, entry_debt
from gateway.jobs.redis import QueueUnavailable
from gateway.redis_connection import unreachable_as
from gateway.store.keys import OrderKeys, outbox_index

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
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
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
        ids = await self._due(keys=[outbox_index()], args=[repr(now), repr(until), limit])
        return [(raw.decode(), until) for raw in ids]

    @_reachable
    async def forget(self, order_id: str, score: float) -> None:
        await self._forget(keys=[outbox_index()], args=[order_id, repr(score)])

    @_reachable
    async def mark(self, order_id: str, at: float) -> None:
        await self._redis.zadd(outbox_index(), {order_id: at})
