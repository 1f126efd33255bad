"""RedisJobQueue: the job queue of scale-out mode, shared by every node on one Redis."""

from __future__ import annotations

import asyncio

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from gateway import redis_connection
from gateway.jobs.buckets import by_bucket, earliest_due
from gateway.jobs.base import Job
from gateway.redis_connection import unreachable_as
from gateway.store import keys as k


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

# Takes the given ids of one bucket that are still due by ARGV[1] (another node may have
# claimed one since it was seen) and leases each until ARGV[2].
_CLAIM_IDS = """
local due, jobs = KEYS[1], KEYS[2]
local claimed = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', due, id)
  if score and tonumber(score) <= tonumber(ARGV[1]) then
    local job = redis.call('HGET', jobs, id)
    if job then
      redis.call('ZADD', due, ARGV[2], id)
      claimed[#claimed + 1] = job
    else
      redis.call('ZREM', due, id)
    end
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
    """Jobs in Redis, durable as Redis is. Per kind and bucket, a sorted set scores each job
    id by when it is due (or when its lease ends) and a hash holds the encoded jobs; both
    share a hash tag, so claiming from a bucket is one atomic script.

    One bucket (one Redis) is claimed in one script. Several (a cluster: a job's bucket is a
    hash of its id) are claimed in two steps: one pipelined look at every bucket's earliest
    due ids (a round trip per shard), then a script per bucket that leases the earliest
    `limit` of them overall if they are still due."""

    def __init__(
        self, redis: aioredis.Redis | RedisCluster, prefix: str = "jobs", buckets: int | None = None
    ) -> None:
        self._prefix = prefix
        self._buckets = buckets or redis_connection.buckets(redis)
        self._redis = redis  # shared with the node's other Redis parts, which close it
        self._claim = self._redis.register_script(_CLAIM)
        self._claim_ids = self._redis.register_script(_CLAIM_IDS)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def _keys(self, kind: str, bucket: int | None = None) -> tuple[str, str]:
        tag = f"{{{self._prefix}:{kind}}}" if bucket is None else f"{{{self._prefix}:{kind}:{bucket}}}"
        return f"{tag}:due", f"{tag}:jobs"

    def _keys_of(self, job: Job) -> tuple[str, str]:
        return self._keys(job.kind, k.bucket(job.id, self._buckets))

    @_reachable
    async def put(self, job: Job, due_at: float) -> None:
        due, jobs = self._keys_of(job)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(jobs, job.id, _encode(job))
            pipe.zadd(due, {job.id: due_at})
            await pipe.execute()

    @_reachable
    async def offer(self, job: Job, due_at: float) -> None:
        due, jobs = self._keys_of(job)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(jobs, job.id, _encode(job))
            pipe.zadd(due, {job.id: due_at}, nx=True)
            await pipe.execute()

    @_reachable
    async def depth(self, kind: str) -> int:
        if self._buckets == 1:
            return int(await self._redis.zcard(self._keys(kind)[0]))
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(self._buckets):
                pipe.zcard(self._keys(kind, bucket)[0])
            return sum(await pipe.execute())

    @_reachable
    async def claim(self, kind: str, now: float, lease: float, limit: int) -> list[Job]:
        if limit <= 0:
            return []
        if self._buckets == 1:
            raws = await self._claim(keys=list(self._keys(kind)), args=[repr(now), repr(now + lease), limit])
            return [_decode_job(raw) for raw in raws]
        earliest = await earliest_due(
            self._redis, [self._keys(kind, bucket)[0] for bucket in range(self._buckets)], now, limit
        )
        claimed = await asyncio.gather(*(
            self._claim_ids(keys=list(self._keys(kind, bucket)), args=[repr(now), repr(now + lease), *ids])
            for bucket, ids in by_bucket(earliest).items()
        ))
        jobs = {job.id: job for raws in claimed for job in map(_decode_job, raws)}
        return [jobs[job_id.decode()] for _, job_id in earliest if job_id.decode() in jobs]

    async def retry(self, job: Job, due_at: float) -> None:
        await self.put(job, due_at)

    @_reachable
    async def done(self, job: Job) -> None:
        due, jobs = self._keys_of(job)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(due, job.id)
            pipe.hdel(jobs, job.id)
            await pipe.execute()
