"""RedisJobQueue: the job queue of scale-out mode, shared by every node on one Redis."""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis

from gateway.jobs.base import Job
from gateway.redis_connection import unreachable_as


# Takes up to ARGV[3] jobs due by ARGV[1], earliest first, and leases each until ARGV[2] by
# re-scoring it: a node that dies holding a job lets the lease run out and another claims it.
_CLAIM = """
local due, jobs = KEYS[1], KEYS[2]
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  local job = redis.call('HGET', jobs, id)
  if job then
    redis.call('ZADD', due, ARGV[2], id)
    claimed[#claimed + 1] = job
  else
    redis.call('ZREM', due, id)
  end
end
return claimed
"""

_encode = msgspec.msgpack.Encoder().encode
_decode_job = msgspec.msgpack.Decoder(Job).decode


class QueueUnavailable(ConnectionError):
    """The job queue cannot be reached right now (Redis is down). A ConnectionError, which
    the Worker rides out."""


_reachable = unreachable_as(QueueUnavailable)


class RedisJobQueue:
    """Jobs in Redis, durable as Redis is. Per kind, a sorted set scores each job id by when
    it is due (or when its lease ends) and a hash holds the encoded jobs; both share a hash
    tag, so claiming is one atomic script."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "jobs") -> None:
        self._prefix = prefix
        self._redis = redis  # shared with the node's other Redis parts, which close it
        self._claim = self._redis.register_script(_CLAIM)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def _keys(self, kind: str) -> tuple[str, str]:
        tag = f"{{{self._prefix}:{kind}}}"
        return f"{tag}:due", f"{tag}:jobs"

    @_reachable
    async def put(self, job: Job, due_at: float) -> None:
        due, jobs = self._keys(job.kind)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(jobs, job.id, _encode(job))
            pipe.zadd(due, {job.id: due_at})
            await pipe.execute()

    @_reachable
    async def offer(self, job: Job, due_at: float) -> None:
        due, jobs = self._keys(job.kind)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(jobs, job.id, _encode(job))
            pipe.zadd(due, {job.id: due_at}, nx=True)
            await pipe.execute()

    @_reachable
    async def depth(self, kind: str) -> int:
        return int(await self._redis.zcard(self._keys(kind)[0]))

    @_reachable
    async def claim(self, kind: str, now: float, lease: float, limit: int) -> list[Job]:
        if limit <= 0:
            return []
        raws = await self._claim(keys=list(self._keys(kind)), args=[repr(now), repr(now + lease), limit])
        return [_decode_job(raw) for raw in raws]

    async def retry(self, job: Job, due_at: float) -> None:
        await self.put(job, due_at)

    @_reachable
    async def done(self, job: Job) -> None:
        due, jobs = self._keys(job.kind)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(due, job.id)
            pipe.hdel(jobs, job.id)
            await pipe.execute()
