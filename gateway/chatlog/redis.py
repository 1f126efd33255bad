"""RedisChatLog: the chat log of scale-out mode, shared by every node on one Redis."""

from __future__ import annotations

import time

import msgspec
import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.cluster import RedisCluster

from gateway import channels, redis_connection
from gateway.chatlog.base import Answered, Owes, StaleOrder, proposal_answer
from gateway.jobs.debts import TEXT, message_text_parts
from gateway.jobs.outbox import GRACE
from gateway.policy.receipts import SMSState, predecessors
from gateway.redis_connection import publishing, unreachable_as
from gateway.store.base import OrderNotFound, StoreUnavailable
from gateway.store.keys import OrderKeys, bucket, outbox_index
from gateway.store.records import ChatMessage
from gateway.store.redis import record_tail

# One round trip per chat message: the idempotency check, the next seq (the history list's
# length), the message stored, its client_id remembered, and the frame published, atomically;
# with what a shopper message owes: its first receipt (stored, and published after the
# message) and its text, a job in the order's outbox (gateway/jobs/outbox.py). Both frames
# and the job are spliced around the seq the script assigns. A key created here inherits the
# order's expiry instant (PEXPIRETIME: the same millisecond, which a TTL copied from PTTL is
# not always), so an order that is expiring leaves nothing. Returns nil for a missing order,
# {1, seq} for a new message, {0, message json} for a retry (which writes nothing), {2}
# (STALE) when the record is not the version the message was decided on (ARGV[10]: the tail of
# that version's encoding, store.redis.record_tail; "" checks nothing).
STALE = 2
_APPEND = """
local rec, history, clients, texts, owed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local client, tail, head, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local sms, receipt_head, receipt_tail, job_head, job_value = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local version_tail = ARGV[10]
local record = redis.call('GET', rec)
if not record then return false end
if client ~= '' then
  local seen = redis.call('HGET', clients, client)
  if seen then return {0, redis.call('LINDEX', history, tonumber(seen) - 1)} end
end
if version_tail ~= '' and string.sub(record, -#version_tail) ~= version_tail then return {2} end
local seq = redis.call('LLEN', history) + 1
local message = '{"seq":' .. seq .. tail
redis.call('RPUSH', history, message)
if client ~= '' then redis.call('HSET', clients, client, seq) end
if sms ~= '' then redis.call('HSET', texts, seq, sms) end
if job_head ~= '' then redis.call('HSET', owed, job_head .. seq, job_value .. seq .. '}') end
local at = redis.call('PEXPIRETIME', rec)
if at > 0 then
  for i = 2, #KEYS do
    if redis.call('PEXPIRETIME', KEYS[i]) == -1 then redis.call('PEXPIREAT', KEYS[i], at) end
  end
end
redis.call('PUBLISH', channel, head .. message .. '}')
if sms ~= '' then redis.call('PUBLISH', channel, receipt_head .. seq .. receipt_tail) end
return {1, seq}
"""

# Forward-only SMS state: set the new state if the current one is among those it may follow
# (computed in Python by receipts.predecessors; "" stands for "no state yet"), and publish
# the receipt frame. A key created here inherits the order's expiry instant. Returns 1 when
# it moved.
_ADVANCE = """
local rec, texts = KEYS[1], KEYS[2]
local field, new, channel, frame = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local at = redis.call('PEXPIRETIME', rec)
if at == -2 then return 0 end
local current = redis.call('HGET', texts, field) or ''
for i = 5, #ARGV do
  if ARGV[i] == current then
    redis.call('HSET', texts, field, new)
    if at > 0 then redis.call('PEXPIREAT', texts, at) end
    redis.call('PUBLISH', channel, frame)
    return 1
  end
end
return 0
"""

# The first answer to a proposal, in one step on every node: the idempotency check (as in
# _APPEND), the proposal at that seq found still open, its `"answer":null` rewritten in place
# (same seq, same position) to the answer, the customer's answer message appended with the
# next seq, and the `message` then the `proposal` frame published. `"answer":null` can only
# be a proposal's own key: a quote inside any string value is escaped in JSON. Returns nil
# for a missing order, {1, seq} when answered, {0, message json} for a retried client_id,
# {2} when there is no proposal at that seq, {3} when it was answered already.
_ANSWER = """
local rec, history, clients = KEYS[1], KEYS[2], KEYS[3]
local client, target_seq, answer, tail, head, channel, proposal_frame =
  ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if redis.call('EXISTS', rec) == 0 then return false end
if client ~= '' then
  local seen = redis.call('HGET', clients, client)
  if seen then return {0, redis.call('LINDEX', history, tonumber(seen) - 1)} end
end
local target = redis.call('LINDEX', history, target_seq - 1)
if not target then return {2} end
local from, to = string.find(target, '"answer":null', 1, true)
if not from then
  if string.find(target, '"proposal":{', 1, true) then return {3} end
  return {2}
end
redis.call('LSET', history, target_seq - 1, target:sub(1, from - 1) .. '"answer":' .. answer .. target:sub(to + 1))
local seq = redis.call('LLEN', history) + 1
local message = '{"seq":' .. seq .. tail
redis.call('RPUSH', history, message)
if client ~= '' then
  redis.call('HSET', clients, client, seq)
  local at = redis.call('PEXPIRETIME', rec)
  if at > 0 then redis.call('PEXPIREAT', clients, at) end
end
redis.call('PUBLISH', channel, head .. message .. '}')
redis.call('PUBLISH', channel, proposal_frame)
return {1, seq}
"""

# A page of history and the history's length (the last seq), read in one step.
_PAGE_OF = """
local first, last = tonumber(ARGV[1]), tonumber(ARGV[2])
return {redis.call('LLEN', KEYS[1]), redis.call('LRANGE', KEYS[1], first, last)}
"""

_OPEN = b'"answer":null'
_PAGE = 200  # messages read at a time looking back for the latest open proposal

_decode_message = msgspec.json.Decoder(ChatMessage).decode
_reachable = unreachable_as(StoreUnavailable)


class RedisChatLog:
    """An order's chat history is a list whose length is its last seq; appending is one Lua
    script (`_APPEND`), so is moving a text's state (`_ADVANCE`). Both publish their frame
    from the script, on the order's channel, in the step that stores it."""

    def __init__(self, redis: aioredis.Redis | RedisCluster) -> None:
        self._redis = redis
        self._buckets = redis_connection.buckets(redis)
        self._append = redis.register_script(publishing(_APPEND, redis))
        self._advance = redis.register_script(publishing(_ADVANCE, redis))
        self._answer = redis.register_script(publishing(_ANSWER, redis))
        self._page = redis.register_script(_PAGE_OF)

    @_reachable
    async def append(
        self, order_id: str, message: ChatMessage, owes: Owes | None = None, version: int = 0
    ) -> tuple[ChatMessage, bool]:
        keys = OrderKeys(order_id)
        tail, head = channels.message_frame_parts(order_id, msgspec.structs.replace(message, seq=0))
        client = "" if message.client_id is None else f"{message.sender}:{message.client_id}"
        owing: list[str | bytes] = ["", "", "", "", ""]
        if owes is not None:
            owing[:3] = [owes.state.value, *channels.receipt_frame_parts(order_id, owes.state, owes.reason)]
            if owes.text:
                body = owes.text_body(message)
                job_head, payload_head = message_text_parts(order_id, body, message.media, owes.held_until)
                owing[3:] = [job_head, TEXT.encode() + b"\n" + payload_head]
        found = await self._run_append(
            order_id, owes is not None and owes.text,
            [keys.rec, keys.history, keys.clients, keys.texts, keys.owed],
            [client, tail, head, channels.order_channel(order_id), *owing, record_tail(version)],
        )
        if found is None:
            raise OrderNotFound(order_id)
        if found[0] == STALE:
            raise StaleOrder(order_id)
        created, value = found
        if created:
            return msgspec.structs.replace(message, seq=int(value)), True
        return _decode_message(value), False

    async def _run_append(self, order_id: str, owes_text: bool, keys: list[str], args: list) -> object:
        """One round trip: the order marked in the outbox index (when its message owes a
        text; ahead of the script on the same connection, so a debt is never unmarked),
        then the script by its sha (loaded once more should Redis have forgotten it).

        On a cluster the index and the order live on different shards, and a cluster
        pipeline takes no scripts: the mark goes first and is answered before the script runs
        (a round trip more, only for a message that owes a text)."""
        if not owes_text:  # the script alone: a plain call costs less than a pipeline
            return await self._append(keys=keys, args=args)
        index = outbox_index(bucket(order_id, self._buckets))
        if isinstance(self._redis, RedisCluster):
            await self._redis.zadd(index, {order_id: time.time() + GRACE})
            return await self._append(keys=keys, args=args)
        for _ in range(2):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(index, {order_id: time.time() + GRACE})
                pipe.evalsha(self._append.sha, len(keys), *keys, *args)
                results = await pipe.execute(raise_on_error=False)
            found = results[-1]
            if isinstance(found, redis_errors.NoScriptError):
                await self._redis.script_load(self._append.script)
                continue
            for result in results:
                if isinstance(result, Exception):
                    raise result
            return found
        raise StoreUnavailable("expected Redis to keep the append script loaded")

    @_reachable
    async def answer(self, order_id: str, message: ChatMessage) -> tuple[ChatMessage | None, Answered]:
        assert message.answer is not None
        if message.answer.seq < 1:
            return None, Answered.NO_PROPOSAL
        keys = OrderKeys(order_id)
        tail, head = channels.message_frame_parts(order_id, msgspec.structs.replace(message, seq=0))
        client = "" if message.client_id is None else f"{message.sender}:{message.client_id}"
        answer = proposal_answer(message)
        found = await self._answer(
            keys=[keys.rec, keys.history, keys.clients],
            args=[
                client, message.answer.seq, msgspec.json.encode(answer), tail, head,
                channels.order_channel(order_id), channels.proposal_frame(order_id, message.answer.seq, answer),
            ],
        )
        if found is None:
            raise OrderNotFound(order_id)
        match found:
            case [1, seq]:
                return msgspec.structs.replace(message, seq=int(seq)), Answered.NEW
            case [0, raw]:
                return _decode_message(raw), Answered.REPEAT
            case [3]:
                return None, Answered.ALREADY
        return None, Answered.NO_PROPOSAL

    @_reachable
    async def latest_open_proposal(self, order_id: str) -> ChatMessage | None:
        history = OrderKeys(order_id).history
        end = await self._redis.llen(history)
        while end > 0:
            start = max(0, end - _PAGE)
            raws = await self._redis.lrange(history, start, end - 1)
            for raw in reversed(raws):
                if _OPEN in raw:
                    return _decode_message(raw)
            end = start
        return None

    @_reachable
    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        if limit <= 0:
            return []
        start = max(0, after)
        raws = await self._redis.lrange(OrderKeys(order_id).history, start, start + limit - 1)
        return [_decode_message(raw) for raw in raws]

    @_reachable
    async def page(self, order_id: str, after: int, limit: int) -> tuple[list[ChatMessage], int]:
        if limit <= 0:
            return [], await self.last_seq(order_id)
        start = max(0, after)
        length, raws = await self._page(keys=[OrderKeys(order_id).history], args=[start, start + limit - 1])
        return [_decode_message(raw) for raw in raws], int(length)

    @_reachable
    async def last_seq(self, order_id: str) -> int:
        return int(await self._redis.llen(OrderKeys(order_id).history))

    @_reachable
    async def advance_text_state(
        self, order_id: str, seq: int, state: SMSState, reason: str | None = None
    ) -> bool:
        keys = OrderKeys(order_id)
        allowed = ["" if before is None else before.value for before in predecessors(state)]
        frame = channels.receipt_frame(order_id, seq, state, reason)
        moved = await self._advance(
            keys=[keys.rec, keys.texts], args=[str(seq), state.value, channels.order_channel(order_id), frame, *allowed]
        )
        return bool(moved)
