"""RedisBroker: order channels over Redis pub/sub, one connection per node."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict, deque

import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.connection import AbstractConnection

from gateway import redis_connection
from gateway.backoff import backoff
from gateway.broker.base import BrokerUnavailable
from gateway.broker.fanout import FanOut, Subscribers

log = logging.getLogger("gateway.broker")

_LOST = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


class RedisBroker(FanOut[Subscribers]):
    """The broker of scale-out mode: a publish on any node reaches the subscribers on all.

    One pub/sub connection carries every channel this node listens to; a channel is
    subscribed in Redis while at least one local subscriber is inside `subscribe`. A listener
    task reads the connection and fans payloads out to local queues. When the connection is
    lost it reconnects with capped exponential backoff, subscribes every live channel again,
    and hands each subscriber RESUBSCRIBED: what was published meanwhile is gone, and
    the subscriber catches up from the Store.

    The raw connection is driven by hand rather than through redis-py's PubSub, whose own
    reconnect-and-resubscribe would hide the outage this class must report."""

    def __init__(
        self,
        url: str,
        redis: aioredis.Redis,
        *,
        confirm_timeout: float = 5.0,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
    ) -> None:
        super().__init__(confirm_timeout)
        self._client = redis  # publishes; shared with the node's other Redis parts, which close it
        self._listen_pool = aioredis.ConnectionPool.from_url(
            url, socket_keepalive=True, **redis_connection.options()
        )
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        # Redis confirms (un)subscribes in the order they were sent: one FIFO per channel.
        # None in `_subscribing` marks a re-subscription after an outage.
        self._subscribing: dict[str, deque[asyncio.Future[None] | None]] = defaultdict(deque)
        self._unsubscribing: dict[str, deque[asyncio.Future[None]]] = defaultdict(deque)
        self._connection: AbstractConnection | None = None
        self._listener: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="redis-broker-listener")

    async def close(self) -> None:
        # The flag ends the reconnect loop even when the cancel is swallowed by a connect
        # attempt under way (a node stopping while Redis is down must still stop).
        self._closing = True
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.wait({self._listener}, timeout=self._confirm_timeout)
            self._listener = None
        await self._listen_pool.disconnect()

    async def ping(self) -> bool:
        if not self._live():
            return False
        try:
            return bool(await self._client.ping())
        except (redis_errors.RedisError, OSError):
            return False

    async def publish(self, channel: str, payload: bytes) -> None:
        try:
            await self._client.publish(channel, payload)
        except _LOST as exc:
            raise BrokerUnavailable(
                f"expected Redis to take a publish, got {type(exc).__name__}: {exc}"
            ) from exc

    def _entry(self) -> Subscribers:
        return Subscribers()

    async def _open(self, channel: str, entry: Subscribers) -> None:
        await self._send_subscribe(channel, entry.ready)

    async def _close(self, channel: str, entry: Subscribers) -> None:
        await self._unsubscribe(channel)

    # the connection ------------------------------------------------------------------------

    def _live(self) -> bool:
        return self._connection is not None and self._connection.is_connected

    async def _send_subscribe(self, channel: str, ready: asyncio.Future[None]) -> None:
        connection = self._connection
        if connection is None or not connection.is_connected:
            return  # the listener subscribes every channel once it has reconnected
        self._subscribing[channel].append(ready)
        try:
            await connection.send_command("SUBSCRIBE", channel, check_health=False)
        except _LOST:
            pass  # the listener sees the same loss and subscribes again after reconnecting

    async def _unsubscribe(self, channel: str) -> None:
        connection = self._connection
        if connection is None or not connection.is_connected:
            return  # a new connection starts with no subscriptions
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unsubscribing[channel].append(done)
        try:
            await connection.send_command("UNSUBSCRIBE", channel, check_health=False)
            await asyncio.wait_for(asyncio.shield(done), self._confirm_timeout)
        except (*_LOST, TimeoutError):
            pass  # a lost connection drops the subscription anyway

    async def _listen(self) -> None:
        failures = 0
        while not self._closing:
            connection = self._listen_pool.make_connection()
            try:
                await connection.connect()
                failures = 0
                await self._resubscribe(connection)
                while not self._closing:
                    # push_request: with RESP3 (redis-py 8 default) pub/sub replies are pushes.
                    reply = await connection.read_response(timeout=math.inf, push_request=True)
                    self._dispatch(reply)
            except _LOST as exc:
                failures += 1
                delay = backoff(failures - 1, self._backoff_base, self._backoff_cap, jitter=False)
                log.warning(
                    "redis pub/sub connection lost (%s: %s) with %d channels; "
                    "reconnecting in %.2fs (attempt %d)",
                    type(exc).__name__, exc, len(self._channels), delay, failures,
                )
            except Exception:
                failures += 1
                delay = self._backoff_cap
                log.exception("redis pub/sub listener failed; reconnecting in %.2fs", delay)
            finally:
                self._forget(connection)
                await connection.disconnect(nowait=True)
            await asyncio.sleep(delay)  # CancelledError (close) ends the loop here or above

    async def _resubscribe(self, connection: AbstractConnection) -> None:
        # Set the connection and snapshot the channels without yielding in between: a
        # subscriber that arrives later sends its own SUBSCRIBE on the new connection.
        self._connection = connection
        channels = list(self._channels.items())
        for channel, entry in channels:
            self._subscribing[channel].append(None if entry.ready.done() else entry.ready)
        if channels:
            await connection.send_command(
                "SUBSCRIBE", *(channel for channel, _ in channels), check_health=False
            )

    def _forget(self, connection: AbstractConnection) -> None:
        """The connection is gone, and with it every subscription and pending confirmation."""
        if self._connection is connection:
            self._connection = None
        self._subscribing.clear()
        for pending in self._unsubscribing.values():
            for done in pending:
                if not done.done():
                    done.set_result(None)
        self._unsubscribing.clear()

    def _dispatch(self, reply: list) -> None:
        kind, channel = reply[0], reply[1].decode()
        if kind == b"message":
            entry = self._channels.get(channel)
            if entry is not None:
                entry.deliver(reply[2])
        elif kind == b"subscribe":
            pending = self._subscribing.get(channel)
            if not pending:
                return
            ready = pending.popleft()
            if ready is not None:
                if not ready.done():
                    ready.set_result(None)
            elif (entry := self._channels.get(channel)) is not None:
                entry.resubscribed()  # re-subscribed after an outage: catch up
        elif kind == b"unsubscribe":
            pending = self._unsubscribing.get(channel)
            if pending:
                done = pending.popleft()
                if not done.done():
                    done.set_result(None)

