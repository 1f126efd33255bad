"""How every Redis-backed part connects: one set of client options, a pool that bounds the
commands in flight (past it: Overloaded, not an outage), and one way of turning "Redis cannot
be reached" into the part's own unavailable error."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.capacity import Capacity, Refusals

log = logging.getLogger("gateway.redis")

T = TypeVar("T")
P = ParamSpec("P")


def options() -> dict[str, Any]:
    """No automatic retries: a retried append or publish whose reply was lost would run
    twice. The pool still replaces connections that died while idle (a Redis restart)."""
    return {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 2.0}


def client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_timeout=5.0, **options())


async def take_slot(slots: asyncio.Semaphore, capacity: Capacity, refusals: Refusals) -> None:
    """One of the node's in-flight slots: at once when one is free (without yielding), else
    waiting its turn up to `capacity.wait` seconds, then refused with Overloaded."""
    if not slots.locked():
        await slots.acquire()
        return
    try:
        await asyncio.wait_for(slots.acquire(), capacity.wait)
    except TimeoutError:
        why = f"{capacity.in_flight} Redis commands in flight for {capacity.wait:g} s"
        raise refusals.refused(capacity, why) from None


class BoundedPool(aioredis.ConnectionPool):
    """A connection pool that never holds more than `capacity.in_flight` commands at once.
    A command past that waits its turn (first come, first served) for up to `capacity.wait`
    seconds, then is refused with Overloaded: redis-py's own pool would raise
    MaxConnectionsError at once, a ConnectionError that reads as an outage."""

    def __init__(self, capacity: Capacity, refusals: Refusals, **kwargs: Any) -> None:
        super().__init__(max_connections=capacity.in_flight, **kwargs)
        self._capacity = capacity
        self._refusals = refusals
        self._slots = asyncio.Semaphore(capacity.in_flight)
        self._admitted: set = set()  # connections holding a slot

    async def get_connection(self, *args: Any, **kwargs: Any):
        await take_slot(self._slots, self._capacity, self._refusals)
        try:
            # On a failed connect, redis-py releases the connection itself (before it is
            # admitted, so release() leaves the slot to us).
            connection = await super().get_connection(*args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        self._admitted.add(connection)
        return connection

    async def release(self, connection) -> None:
        try:
            await super().release(connection)
        finally:
            if connection in self._admitted:
                self._admitted.remove(connection)
                self._slots.release()


class SharedClient:
    """The one command client a node's Redis parts share (store, chat log, jobs, broker
    publishes), as a part the app starts and closes after them. Its pool bounds the node's
    commands in flight (`BoundedPool`)."""

    def __init__(self, url: str, capacity: Capacity, refusals: Refusals) -> None:
        pool = BoundedPool.from_url(url, capacity=capacity, refusals=refusals, socket_timeout=5.0, **options())
        self.redis = aioredis.Redis.from_pool(pool)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        await self.redis.aclose()


def unreachable_as(
    error: Callable[[str], Exception],
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """A decorator raising `error` when Redis cannot be reached (down, timing out, or still
    loading its data: BusyLoadingError is a ConnectionError too)."""

    def decorate(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await method(*args, **kwargs)
            except UNREACHABLE as exc:
                raise error(f"expected Redis to answer, got {type(exc).__name__}: {exc}") from exc
            except RedisClusterException as exc:
                if not isinstance(exc.__cause__, UNREACHABLE):
                    raise  # a fault of ours (keys across slots), not an outage
                # No cluster node answered the client's reading of the slot map.
                raise error(f"expected the Redis Cluster to answer, got {exc}") from exc

        return wrapper

    return decorate


# Redis Cluster ------------------------------------------------------------------------------

# What "Redis cannot be reached" looks like on a cluster too: no node answers for the slot
# (a primary failed and no replica took over yet) or the client has no node for it.
UNREACHABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ClusterDownError,
    redis_errors.SlotNotCoveredError,
    redis_errors.TryAgainError,
)


def cluster_client(url: str) -> RedisCluster:
    """A Redis Cluster client from the URL of any node. The same no-blind-retry rule: a
    command whose node is lost fails (the client re-reads the topology before the next one);
    MOVED and ASK redirects are followed, as the command did not run where it was refused."""
    return RedisCluster.from_url(url, **cluster_options())


def cluster_options() -> dict[str, Any]:
    # redis-py's cluster client caps each node at 100 connections and then fails a command
    # at once (MaxConnectionsError, a ConnectionError: it reads as an outage); the bound
    # that matters is on the commands in flight (BoundedCluster), not on connections.
    return {"socket_timeout": 5.0, "max_connections": 2**31, **options()}


# On a Redis Cluster, what every order would otherwise share (the job queues, the outbox's
# index of orders that owe) is spread over this many keys, each under a hash tag of its own,
# so that it lands on every shard rather than on one hot slot.
CLUSTER_BUCKETS = 16


def buckets(redis: aioredis.Redis | RedisCluster) -> int:
    """How many buckets a shared key is spread over on this client's Redis."""
    return CLUSTER_BUCKETS if isinstance(redis, RedisCluster) else 1


def publishing(script: str, redis: aioredis.Redis | RedisCluster) -> str:
    """A Lua script that publishes, as the client's Redis needs it: on a cluster the frame
    goes out with SPUBLISH, on the shard owning the order (the channel carries the order's
    hash tag, so it shares the slot of the keys the script touches)."""
    return script.replace("'PUBLISH'", "'SPUBLISH'") if isinstance(redis, RedisCluster) else script


class BoundedCluster(RedisCluster):
    """RedisCluster holding at most `capacity.in_flight` commands (scripts included) at once,
    as BoundedPool does for one Redis: past that a command waits its turn for up to
    `capacity.wait` seconds, then is refused with Overloaded. (A cluster client has a pool per
    node, none of which it lets us replace, so the bound sits on the command itself.)"""

    def __init__(self, *args: Any, capacity: Capacity, refusals: Refusals, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._capacity = capacity
        self._refusals = refusals
        self._slots = asyncio.Semaphore(capacity.in_flight)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        await take_slot(self._slots, self._capacity, self._refusals)
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self._slots.release()


class SharedClusterClient(SharedClient):
    """SharedClient on a Redis Cluster: the parts run their commands and scripts through it,
    each routed to the primary owning the keys' slot, the node's commands in flight bounded
    (BoundedCluster)."""

    def __init__(self, url: str, capacity: Capacity, refusals: Refusals) -> None:
        self.redis = BoundedCluster.from_url(
            url, capacity=capacity, refusals=refusals, **cluster_options()
        )

    async def start(self) -> None:
        """Reads the slot map before the parts use the client: redis-py's lazy first read,
        raced by many first commands at once, fails some of them with ConnectionError. A
        cluster that is not reachable yet is read on first use instead (the node starts and
        answers 503 until then, as with one Redis)."""
        try:
            await self.redis.initialize()
        except (*UNREACHABLE, RedisClusterException) as exc:
            log.warning("redis cluster not reachable at start (%s); will connect on first use", type(exc).__name__)
