"""RedisPresence: presence shared by every node on one Redis."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from gateway.presence.base import LEASE
from gateway.redis_connection import unreachable_as
from gateway.store.base import StoreUnavailable
from gateway.store.keys import OrderKeys

# A socket's lease end is kept in Redis's own clock (TIME), so nodes whose clocks differ
# agree. The hash lives under the order's tag and, like every key of the order, inherits its
# expiry once the order has one.
_MARK = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lease_end = ms + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], lease_end) end
local at = redis.call('PEXPIRETIME', KEYS[2])
if at > 0 then redis.call('PEXPIREAT', KEYS[1], at) end
"""

_REFRESH = """
local now = redis.call('TIME')
local lease_end = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then redis.call('HSET', KEYS[1], ARGV[i], lease_end) end
end
"""

# Present when a lease has not ended; ended leases are dropped on the way.
_PRESENT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local entries = redis.call('HGETALL', KEYS[1])
local present = 0
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) > ms then present = 1 else redis.call('HDEL', KEYS[1], entries[i]) end
end
return present
"""

_READ = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  local at = redis.call('PEXPIRETIME', KEYS[2])
  if at > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PXAT', at) else redis.call('SET', KEYS[1], ARGV[1]) end
end
"""

_reachable = unreachable_as(StoreUnavailable)


class RedisPresence:
    def __init__(self, redis: aioredis.Redis | RedisCluster, lease: float = LEASE) -> None:
        self._redis = redis
        self._lease_ms = int(lease * 1000)
        self._mark = redis.register_script(_MARK)
        self._refresh = redis.register_script(_REFRESH)
        self._present = redis.register_script(_PRESENT)
        self._read = redis.register_script(_READ)

    @_reachable
    async def mark(self, order_id: str, socket_id: str, visible: bool) -> None:
        keys = OrderKeys(order_id)
        if visible:
            await self._mark(keys=[keys.presence, keys.rec], args=[self._lease_ms, socket_id])
        else:
            await self._redis.hdel(keys.presence, socket_id)

    @_reachable
    async def gone(self, order_id: str, socket_id: str) -> None:
        await self._redis.hdel(OrderKeys(order_id).presence, socket_id)

    @_reachable
    async def refresh(self, sockets: list[tuple[str, str]]) -> None:
        by_order: dict[str, list[str]] = {}
        for order_id, socket_id in sockets:
            by_order.setdefault(order_id, []).append(socket_id)
        if not by_order:
            return
        if isinstance(self._redis, RedisCluster):
            # A cluster pipeline takes no scripts: one script per order, at once, each on its slot.
            await asyncio.gather(*(
                self._refresh(keys=[OrderKeys(order_id).presence], args=[self._lease_ms, *socket_ids])
                for order_id, socket_ids in by_order.items()
            ))
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for order_id, socket_ids in by_order.items():
                await self._refresh(keys=[OrderKeys(order_id).presence], args=[self._lease_ms, *socket_ids], client=pipe)
            await pipe.execute()

    @_reachable
    async def present(self, order_id: str) -> bool:
        return bool(await self._present(keys=[OrderKeys(order_id).presence]))

    @_reachable
    async def read(self, order_id: str, seq: int) -> None:
        keys = OrderKeys(order_id)
        await self._read(keys=[keys.read, keys.rec], args=[seq])

    @_reachable
    async def read_upto(self, order_id: str) -> int:
        raw = await self._redis.get(OrderKeys(order_id).read)
        return int(raw) if raw is not None else 0
