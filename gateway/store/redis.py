"""RedisStore: the store of scale-out mode, shared by every node on one Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import msgspec
from redis import exceptions as redis_errors

from gateway import messages, redis_connection
from gateway.broker.base import order_channel
from gateway.messages import ChatMessage
from gateway.policy import receipts
from gateway.redis_connection import unreachable_as
from gateway.store.base import OrderNotFound, StoreUnavailable
from gateway.store.records import Block, Draft, OrderRecord, TextRef

T = TypeVar("T")

# One round trip per chat message: the idempotency check, the next seq (the history list's
# length), the message stored, its client_id remembered, and the frame published, atomically.
# A key created here inherits the order's TTL, so an order that is expiring leaves nothing.
# Returns nil for a missing order, {1, seq} for a new message, {0, message json} for a retry.
_APPEND = """
local rec, history, clients = KEYS[1], KEYS[2], KEYS[3]
local client, tail, head, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', rec) == 0 then return false end
if client ~= '' then
  local seen = redis.call('HGET', clients, client)
  if seen then return {0, redis.call('LINDEX', history, tonumber(seen) - 1)} end
end
local seq = redis.call('LLEN', history) + 1
local message = '{"seq":' .. seq .. tail
redis.call('RPUSH', history, message)
if client ~= '' then redis.call('HSET', clients, client, seq) end
local ttl = redis.call('PTTL', rec)
if ttl > 0 then
  redis.call('PEXPIRE', history, ttl)
  if client ~= '' then redis.call('PEXPIRE', clients, ttl) end
end
redis.call('PUBLISH', channel, head .. message .. '}')
return {1, seq}
"""

# Drops a phone's route to an order that has expired, unless it was re-pointed meanwhile.
_DROP_ROUTE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
"""

# Forward-only SMS state: set the new state if the current one is among those it may follow
# (computed in Python by receipts.predecessors; "" stands for "no state yet"), and publish
# the receipt frame. A key created here inherits the order's TTL. Returns 1 when it moved.
_ADVANCE = """
local rec, texts = KEYS[1], KEYS[2]
local field, new, channel, frame = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl = redis.call('PTTL', rec)
if ttl == -2 then return 0 end
local current = redis.call('HGET', texts, field) or ''
for i = 5, #ARGV do
  if ARGV[i] == current then
    redis.call('HSET', texts, field, new)
    if ttl > 0 then redis.call('PEXPIRE', texts, ttl) end
    redis.call('PUBLISH', channel, frame)
    return 1
  end
end
return 0
"""

# Every key of an order expires at one instant (PEXPIRE per key in a MULTI can differ by a
# millisecond, leaving a chat readable for a moment after its order is gone).
_EXPIRE = """
local now = redis.call('TIME')
local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
for _, key in ipairs(KEYS) do redis.call('PEXPIREAT', key, at) end
"""

_SEQ_PREFIX = b'{"seq":0'

_encode = msgspec.msgpack.Encoder().encode
_decode_order = msgspec.msgpack.Decoder(OrderRecord).decode
_decode_text_ref = msgspec.msgpack.Decoder(TextRef).decode
_decode_message = msgspec.json.Decoder(ChatMessage).decode


_reachable = unreachable_as(StoreUnavailable)


def _millis(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class _OrderKeys:
    """Every key of one order shares the `{order:<id>}` hash tag, so it lives in one slot."""

    __slots__ = ("rec", "history", "clients", "texts")

    def __init__(self, order_id: str) -> None:
        tag = f"{{order:{order_id}}}"
        self.rec = f"{tag}:rec"
        self.history = f"{tag}:msgs"  # list of message json; its length is the last seq
        self.clients = f"{tag}:clients"  # "<sender>:<client_id>" -> seq
        self.texts = f"{tag}:texts"  # seq -> SMS state

    def all(self) -> tuple[str, ...]:
        return (self.rec, self.history, self.clients, self.texts)


def _phone_orders(phone: str) -> str:
    return f"phone:{phone}:orders"  # sorted set: order id scored by created_at


def _phone_routes(phone: str) -> str:
    return f"phone:{phone}:routes"  # hash: sender -> order id


def _phone_blocks(phone: str) -> str:
    return f"phone:{phone}:blocks"  # set: "keyword" and/or "sender:<number>"


class RedisStore:
    """Every piece of gateway state in Redis, so any node serves any request.

    Orders are msgpack records; an order's chat history is a list whose length is its last
    seq; appending is one Lua script (see `_APPEND`). Phone-level keys (orders, routes,
    blocks) live outside the order's slot and are cleaned lazily once an order expires.
    `clock` is accepted for symmetry with MemoryStore; Redis TTLs use Redis's own clock."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._redis = redis_connection.client(url)
        self._append = self._redis.register_script(_APPEND)
        self._drop_route = self._redis.register_script(_DROP_ROUTE)
        self._advance = self._redis.register_script(_ADVANCE)
        self._expire = self._redis.register_script(_EXPIRE)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (redis_errors.RedisError, OSError):
            return False

    # orders
    @_reachable
    async def create_order(self, order: OrderRecord) -> tuple[OrderRecord, bool]:
        keys = _OrderKeys(order.id)
        async with self._redis.pipeline(transaction=False) as pipe:
            # The phone's index first: should the record write fail, the index holds an id
            # that orders_of_phone skips and drops, never a record that no index finds.
            pipe.zadd(_phone_orders(order.customer_phone), {order.id: order.created_at}, nx=True)
            pipe.set(keys.rec, _encode(order), nx=True)
            pipe.get(keys.rec)
            _, created, raw = await pipe.execute()
        return (order, True) if created else (_decode_order(raw), False)

    @_reachable
    async def get_order(self, order_id: str) -> OrderRecord | None:
        raw = await self._redis.get(_OrderKeys(order_id).rec)
        return None if raw is None else _decode_order(raw)

    @_reachable
    async def update_order(
        self, order_id: str, change: Callable[[OrderRecord], tuple[OrderRecord | None, T]]
    ) -> T:
        key = _OrderKeys(order_id).rec
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise OrderNotFound(order_id)
                    record, result = change(_decode_order(raw))
                    if record is None:
                        return result
                    pipe.multi()
                    pipe.set(key, _encode(record), keepttl=True)  # an expiring order stays so
                    await pipe.execute()
                    return result
                except redis_errors.WatchError:
                    continue  # someone wrote in between: run `change` on their record

    @_reachable
    async def expire_order(self, order_id: str, ttl: float) -> None:
        keys = _OrderKeys(order_id).all()
        await self._expire(keys=list(keys), args=[_millis(ttl)])

    @_reachable
    async def orders_of_phone(self, phone: str) -> list[OrderRecord]:
        index = _phone_orders(phone)
        order_ids = [raw.decode() for raw in await self._redis.zrange(index, 0, -1)]
        if not order_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for order_id in order_ids:
                pipe.get(_OrderKeys(order_id).rec)
            raws = await pipe.execute()
        gone = [order_id for order_id, raw in zip(order_ids, raws) if raw is None]
        if gone:
            await self._redis.zrem(index, *gone)
        records = [_decode_order(raw) for raw in raws if raw is not None]
        return sorted(records, key=lambda record: record.created_at)

    # phones
    @_reachable
    async def set_route(self, phone: str, sender: str, order_id: str) -> None:
        await self._redis.hset(_phone_routes(phone), sender, order_id)

    @_reachable
    async def route(self, phone: str, sender: str) -> str | None:
        raw = await self._redis.hget(_phone_routes(phone), sender)
        if raw is None:
            return None
        order_id = raw.decode()
        if await self._redis.exists(_OrderKeys(order_id).rec):
            return order_id
        await self._drop_route(keys=[_phone_routes(phone)], args=[sender, order_id])
        return None

    @_reachable
    async def set_blocked(self, phone: str, sender: str | None, blocked: bool) -> None:
        member = "keyword" if sender is None else f"sender:{sender}"
        if blocked:
            await self._redis.sadd(_phone_blocks(phone), member)
        else:
            await self._redis.srem(_phone_blocks(phone), member)

    @_reachable
    async def block(self, phone: str, sender: str) -> Block:
        keyword, by_sender = await self._redis.smismember(
            _phone_blocks(phone), ["keyword", f"sender:{sender}"]
        )
        return Block(keyword=bool(keyword), sender=bool(by_sender))

    # chat
    @_reachable
    async def append_message(self, order_id: str, draft: Draft) -> tuple[ChatMessage, bool]:
        keys = _OrderKeys(order_id)
        unnumbered = ChatMessage(
            seq=0, id=draft.id, sender=draft.sender, via=draft.via, text=draft.text,
            at=draft.at, client_id=draft.client_id,
        )
        tail, head = _split_for_seq(order_id, unnumbered)
        client = "" if draft.client_id is None else f"{draft.sender}:{draft.client_id}"
        found = await self._append(
            keys=[keys.rec, keys.history, keys.clients],
            args=[client, tail, head, order_channel(order_id)],
        )
        if found is None:
            raise OrderNotFound(order_id)
        created, value = found
        if created:
            return msgspec.structs.replace(unnumbered, seq=int(value)), True
        return _decode_message(value), False

    @_reachable
    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        if limit <= 0:
            return []
        start = max(0, after)
        raws = await self._redis.lrange(_OrderKeys(order_id).history, start, start + limit - 1)
        return [_decode_message(raw) for raw in raws]

    @_reachable
    async def last_seq(self, order_id: str) -> int:
        return int(await self._redis.llen(_OrderKeys(order_id).history))

    # texts
    @_reachable
    async def first_sight(self, key: str, ttl: float) -> bool:
        return bool(await self._redis.set(f"seen:{key}", b"1", nx=True, px=_millis(ttl)))

    @_reachable
    async def link_text(self, sid: str, ref: TextRef, ttl: float) -> None:
        await self._redis.set(f"text:{sid}", _encode(ref), px=_millis(ttl))

    @_reachable
    async def text_ref(self, sid: str) -> TextRef | None:
        raw = await self._redis.get(f"text:{sid}")
        return None if raw is None else _decode_text_ref(raw)

    @_reachable
    async def advance_text_state(self, order_id: str, seq: int, state: str) -> bool:
        keys = _OrderKeys(order_id)
        allowed = ["" if before is None else before for before in receipts.predecessors(state)]
        frame = messages.encode(messages.Receipt(order_id=order_id, seq=seq, sms=state))
        moved = await self._advance(
            keys=[keys.rec, keys.texts], args=[str(seq), state, order_channel(order_id), frame, *allowed]
        )
        return bool(moved)


def _split_for_seq(order_id: str, unnumbered: ChatMessage) -> tuple[bytes, bytes]:
    """The message json after its seq, and the `message` frame up to the message: the script
    splices the seq it assigns between them, so the frame is exactly what
    `messages.encode(MessageFrame(...))` gives for the numbered message."""
    message = messages.encode(unnumbered)
    frame = messages.encode(messages.MessageFrame(order_id=order_id, message=unnumbered))
    if not message.startswith(_SEQ_PREFIX) or not frame.endswith(message + b"}"):
        raise AssertionError(f"expected seq first and message last in a frame, got {frame!r}")
    return message[len(_SEQ_PREFIX) :], frame[: len(frame) - len(message) - 1]
