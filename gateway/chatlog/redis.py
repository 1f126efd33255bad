"""RedisChatLog: the chat log of scale-out mode, shared by every node on one Redis."""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from gateway import channels
from gateway.policy.receipts import SMSState, predecessors
from gateway.redis_connection import publishing, unreachable_as
from gateway.store.base import OrderNotFound, StoreUnavailable
from gateway.store.keys import OrderKeys
from gateway.store.records import ChatMessage

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

_decode_message = msgspec.json.Decoder(ChatMessage).decode
_reachable = unreachable_as(StoreUnavailable)


class RedisChatLog:
    """An order's chat history is a list whose length is its last seq; appending is one Lua
    script (`_APPEND`), so is moving a text's state (`_ADVANCE`). Both publish their frame
    from the script, on the order's channel, in the step that stores it."""

    def __init__(self, redis: aioredis.Redis | RedisCluster) -> None:
        self._redis = redis
        self._append = redis.register_script(publishing(_APPEND, redis))
        self._advance = redis.register_script(publishing(_ADVANCE, redis))

    @_reachable
    async def append(self, order_id: str, message: ChatMessage) -> tuple[ChatMessage, bool]:
        keys = OrderKeys(order_id)
        tail, head = channels.message_frame_parts(order_id, msgspec.structs.replace(message, seq=0))
        client = "" if message.client_id is None else f"{message.sender}:{message.client_id}"
        found = await self._append(
            keys=[keys.rec, keys.history, keys.clients],
            args=[client, tail, head, channels.order_channel(order_id)],
        )
        if found is None:
            raise OrderNotFound(order_id)
        created, value = found
        if created:
            return msgspec.structs.replace(message, seq=int(value)), True
        return _decode_message(value), False

    @_reachable
    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        if limit <= 0:
            return []
        start = max(0, after)
        raws = await self._redis.lrange(OrderKeys(order_id).history, start, start + limit - 1)
        return [_decode_message(raw) for raw in raws]

    @_reachable
    async def last_seq(self, order_id: str) -> int:
        return int(await self._redis.llen(OrderKeys(order_id).history))

    @_reachable
    async def advance_text_state(self, order_id: str, seq: int, state: SMSState) -> bool:
        keys = OrderKeys(order_id)
        allowed = ["" if before is None else before.value for before in predecessors(state)]
        frame = channels.receipt_frame(order_id, seq, state)
        moved = await self._advance(
            keys=[keys.rec, keys.texts], args=[str(seq), state.value, channels.order_channel(order_id), frame, *allowed]
        )
        return bool(moved)
