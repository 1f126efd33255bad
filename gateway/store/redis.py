"""RedisOrderStore: the order store of scale-out mode, shared by every node on one Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import msgspec
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from gateway.jobs.debts import entry_value
from gateway.jobs.outbox import GRACE
from gateway import redis_connection
from gateway.redis_connection import unreachable_as
from gateway.sms.base import StatusReport
from gateway.store import keys as k
from gateway.store.base import OrderNotFound, Owing, StoreUnavailable
from gateway.store.keys import OrderKeys, bucket, outbox_index
from gateway.store.records import Block, OrderRecord, TextRef

T = TypeVar("T")

# Drops a phone's route to an order that has expired, unless it was re-pointed meanwhile.
_DROP_ROUTE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
"""

# Every key of an order expires at one instant (PEXPIRE per key in a MULTI can differ by a
# millisecond, leaving a chat readable for a moment after its order is gone).
_EXPIRE = """
local now = redis.call('TIME')
local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
for _, key in ipairs(KEYS) do redis.call('PEXPIREAT', key, at) end
"""

# Links a sent text's sid (KEYS[1]) and hands over the status reports kept for it (KEYS[2]).
_LINK = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local early = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return early
"""

# The text a sid carried, or, not linked yet, its report kept (for ARGV[2] ms) for _LINK.
_KEEP = """
local ref = redis.call('GET', KEYS[1])
if ref then return ref end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return false
"""

_encode = msgspec.msgpack.Encoder().encode
_decode_order = msgspec.msgpack.Decoder(OrderRecord).decode
_decode_text_ref = msgspec.msgpack.Decoder(TextRef).decode
_decode_report = msgspec.msgpack.Decoder(StatusReport).decode


def record_tail(version: int) -> bytes:
    """How a stored record of `version` ends (its last key, `version`, and the value), for a
    script to check a copy against the record without decoding it; b"" for 0 (unchecked)."""
    return b"" if version == 0 else _encode("version") + _encode(version)


_reachable = unreachable_as(StoreUnavailable)


def _millis(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisOrderStore:
    """Orders and phones in Redis, so any node serves any request.

    Orders are msgpack records. Phone-level keys (orders, routes, blocks) live outside the
    order's slot and are cleaned lazily once an order expires. Redis TTLs use Redis's own
    clock. The client is shared with the node's other Redis parts, which close it."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._buckets = redis_connection.buckets(redis)
        self._drop_route = self._redis.register_script(_DROP_ROUTE)
        self._expire = self._redis.register_script(_EXPIRE)
        self._link = self._redis.register_script(_LINK)
        self._keep = self._redis.register_script(_KEEP)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (redis_errors.RedisError, redis_errors.RedisClusterException, OSError):
            return False

    # orders
    @_reachable
    async def create_order(self, order: OrderRecord) -> tuple[OrderRecord, bool]:
        keys = OrderKeys(order.id)
        async with self._redis.pipeline(transaction=False) as pipe:
            # The phone's index first: should the record write fail, the index holds an id
            # that orders_of_phone skips and drops, never a record that no index finds.
            pipe.zadd(k.phone_orders(order.customer_phone), {order.id: order.created_at}, nx=True)
            pipe.set(keys.rec, _encode(order), nx=True)
            pipe.get(keys.rec)
            _, created, raw = await pipe.execute()
        return (order, True) if created else (_decode_order(raw), False)

    @_reachable
    async def get_order(self, order_id: str) -> OrderRecord | None:
        raw = await self._redis.get(OrderKeys(order_id).rec)
        return None if raw is None else _decode_order(raw)

    @_reachable
    async def update_order(
        self,
        order_id: str,
        change: Callable[[OrderRecord], tuple[OrderRecord | None, T]],
        owing: Callable[[T], Owing] | None = None,
    ) -> T:
        keys = OrderKeys(order_id)
        key = keys.rec
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise OrderNotFound(order_id)
                    current = _decode_order(raw)
                    record, result = change(current)
                    if record is None:
                        return result
                    record = msgspec.structs.replace(record, version=current.version + 1)
                    owed = owing(result) if owing is not None else Owing()
                    if owed.debts:  # marked first, so an order that owes is always found
                        # Through the client, not the watching pipeline: on a cluster the
                        # index is on another slot than the order's transaction.
                        index = outbox_index(bucket(order_id, self._buckets))
                        await self._redis.zadd(index, {order_id: time.time() + GRACE})
                    pipe.multi()
                    pipe.set(key, _encode(record), keepttl=True)  # an expiring order stays so
                    for debt in owed.debts:
                        pipe.hset(keys.owed, debt.id, entry_value(debt))
                    if owed.expire_after is not None:  # EVAL, not EVALSHA: no NOSCRIPT in a MULTI
                        pipe.eval(_EXPIRE, len(keys.all()), *keys.all(), _millis(owed.expire_after))
                    await pipe.execute()
                    return result
                except redis_errors.WatchError:
                    continue  # someone wrote in between: run `change` on their record

    @_reachable
    async def expire_order(self, order_id: str, ttl: float) -> None:
        keys = OrderKeys(order_id).all()
        await self._expire(keys=list(keys), args=[_millis(ttl)])

    @_reachable
    async def orders_of_phone(self, phone: str) -> list[OrderRecord]:
        index = k.phone_orders(phone)
        return await self._kept_orders(index, await self._redis.zrange(index, 0, -1))

    async def _kept_orders(self, index: str, raw_ids: list[bytes]) -> list[OrderRecord]:
        """The records of a phone's `index` entries, oldest first; entries whose order is gone
        are dropped from the index on the way."""
        order_ids = [raw.decode() for raw in raw_ids]
        if len(order_ids) == 1:  # the usual case: a plain GET costs less than a pipeline
            raws = [await self._redis.get(OrderKeys(order_ids[0]).rec)]
        elif order_ids:
            async with self._redis.pipeline(transaction=False) as pipe:
                for order_id in order_ids:
                    pipe.get(OrderKeys(order_id).rec)
                raws = await pipe.execute()
        else:
            return []
        gone = [order_id for order_id, raw in zip(order_ids, raws) if raw is None]
        if gone:
            await self._redis.zrem(index, *gone)
        records = [_decode_order(raw) for raw in raws if raw is not None]
        return sorted(records, key=lambda record: record.created_at)

    # phones
    @_reachable
    async def set_route(self, phone: str, sender: str, order_id: str) -> None:
        await self._redis.hset(k.phone_routes(phone), sender, order_id)

    @_reachable
    async def orders_and_route(self, phone: str, sender: str) -> tuple[list[OrderRecord], str | None]:
        index, routes = k.phone_orders(phone), k.phone_routes(phone)
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip for both
            pipe.zrange(index, 0, -1)
            pipe.hget(routes, sender)
            raw_ids, raw_routed = await pipe.execute()
        orders = await self._kept_orders(index, raw_ids)
        routed = None if raw_routed is None else raw_routed.decode()
        if routed is not None and not any(order.id == routed for order in orders):
            await self._drop_route(keys=[routes], args=[sender, routed])  # its order is gone
            routed = None
        return orders, routed

    @_reachable
    async def set_blocked(self, phone: str, sender: str | None, blocked: bool) -> None:
        member = "keyword" if sender is None else f"sender:{sender}"
        if blocked:
            await self._redis.sadd(k.phone_blocks(phone), member)
        else:
            await self._redis.srem(k.phone_blocks(phone), member)

    @_reachable
    async def block(self, phone: str, sender: str) -> Block:
        keyword, by_sender = await self._redis.smismember(
            k.phone_blocks(phone), ["keyword", f"sender:{sender}"]
        )
        return Block(keyword=bool(keyword), sender=bool(by_sender))

    # texts
    @_reachable
    async def first_sight(self, key: str, ttl: float) -> bool:
        return bool(await self._redis.set(k.seen(key), b"1", nx=True, px=_millis(ttl)))

    @_reachable
    async def link_text(self, sid: str, ref: TextRef, ttl: float) -> list[StatusReport]:
        early = await self._link(keys=[k.text(sid), k.early_statuses(sid)], args=[_encode(ref), _millis(ttl)])
        return [_decode_report(raw) for raw in early]

    @_reachable
    async def keep_status(self, sid: str, report: StatusReport, ttl: float) -> TextRef | None:
        raw = await self._keep(keys=[k.text(sid), k.early_statuses(sid)], args=[_encode(report), _millis(ttl)])
        return None if raw is None else _decode_text_ref(raw)

    @_reachable
    async def text_ref(self, sid: str) -> TextRef | None:
        raw = await self._redis.get(k.text(sid))
        return None if raw is None else _decode_text_ref(raw)
