"""RedisMediaStore: the photos of scale-out mode, in the order's own Redis slot.

Why Redis and not a blob store: a photo must be served by any node and must go when its
order goes, at the same instant as the chat that shows it. Kept under the order's hash tag
and among the keys `expire_order` times out, it needs no second system to run, secure and
clean up. The cost is memory: at most `limits.media_bytes` (5 MB by default) a photo, for the
life of an order plus `chat_retention`, and a grocery chat carries a handful. A deployment
that sends many photos sizes Redis's memory for them (or sets a smaller `media_bytes`)."""

from __future__ import annotations

import redis.asyncio as aioredis

from gateway.media.base import Photo
from gateway.redis_connection import unreachable_as
from gateway.store.base import StoreUnavailable
from gateway.store.keys import OrderKeys

# Stores a photo only while its order exists; the two hashes take the order's expiry instant
# when it has one (a photo that arrives for a closed order, e.g. a late MMS fetch, still goes
# with it).
_PUT = """
local rec, bytes, types = KEYS[1], KEYS[2], KEYS[3]
local at = redis.call('PEXPIRETIME', rec)
if at == -2 then return 0 end
redis.call('HSET', bytes, ARGV[1], ARGV[2])
redis.call('HSET', types, ARGV[1], ARGV[3])
if at > 0 then
  redis.call('PEXPIREAT', bytes, at)
  redis.call('PEXPIREAT', types, at)
end
return 1
"""

_reachable = unreachable_as(StoreUnavailable)


class RedisMediaStore:
    """Two hashes per order: photo id -> bytes, and photo id -> content type (so a `send`
    checks its ids without reading megabytes). The client is shared with the node's other
    Redis parts, which close it."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._put = redis.register_script(_PUT)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    @_reachable
    async def put(self, order_id: str, photo: Photo) -> bool:
        keys = OrderKeys(order_id)
        stored = await self._put(
            keys=[keys.rec, keys.media, keys.media_types], args=[photo.id, photo.data, photo.content_type]
        )
        return bool(stored)

    @_reachable
    async def get(self, order_id: str, media_id: str) -> Photo | None:
        keys = OrderKeys(order_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.media_types, media_id)
            pipe.hget(keys.media, media_id)
            content_type, data = await pipe.execute()
        if content_type is None or data is None:
            return None
        return Photo(id=media_id, content_type=content_type.decode(), data=data)

    @_reachable
    async def types(self, order_id: str, media_ids: list[str]) -> dict[str, str]:
        if not media_ids:
            return {}
        found = await self._redis.hmget(OrderKeys(order_id).media_types, media_ids)
        return {i: t.decode() for i, t in zip(media_ids, found) if t is not None}
