"""RedisClusterBroker: order channels over a Redis Cluster's sharded pub/sub (Redis 7)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict, deque

from redis import exceptions as redis_errors
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection, parse_url
from redis.crc import key_slot

from gateway import redis_connection
from gateway.backoff import backoff
from gateway.broker.base import BrokerUnavailable
from gateway.broker.fanout import FanOut, Subscribers

log = logging.getLogger("gateway.broker")

_LOST = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


class _Channel(Subscribers):
    """The local subscribers of one channel, and the link (the shard's connection) carrying
    it; None while it has no home."""

    __slots__ = ("link",)

    def __init__(self) -> None:
        super().__init__()
        self.link: _Link | None = None


class _Link:
    """This node's one pub/sub connection to one primary, and the channels it carries."""

    __slots__ = ("address", "connection", "channels", "subscribing", "unsubscribing", "task")

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.connection: Connection | None = None  # set once connected
        self.channels: set[str] = set()
        # The shard confirms (un)subscribes in the order they were sent: one FIFO per
        # channel. None in `subscribing` marks a re-subscription after a gap.
        self.subscribing: dict[str, deque[asyncio.Future[None] | None]] = defaultdict(deque)
        self.unsubscribing: dict[str, deque[asyncio.Future[None]]] = defaultdict(deque)
        self.task: asyncio.Task[None] | None = None

    def live(self) -> bool:
        return self.connection is not None and self.connection.is_connected


class RedisClusterBroker(FanOut[_Channel]):
    """The broker of cluster mode: SPUBLISH goes to the shard owning the channel's slot (the
    channel carries its order's hash tag), so a frame never crosses the other shards.

    Subscriptions are grouped by shard: one connection per primary that owns a channel this
    node listens to, each read by its own task. A channel without a home (at start, after
    its primary's connection was lost, after a -MOVED reply to SSUBSCRIBE, or after the
    shard dropped it with a `sunsubscribe` push because its slot moved) is placed again by
    one re-homing task: it re-reads the slot map from any node that answers (with capped
    exponential backoff while none does), subscribes on the slot's current primary, and
    hands each subscriber RESUBSCRIBED, as RedisBroker does after an outage: what was
    published meanwhile is gone, and the subscriber catches up from the Store.

    Same guarantees as the Broker protocol: at-most-once, ordered per channel per publisher;
    `subscribe` returns once the shard confirmed it; leaving unsubscribes."""

    def __init__(
        self,
        url: str,
        redis: RedisCluster,
        *,
        confirm_timeout: float = 5.0,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
    ) -> None:
        super().__init__(confirm_timeout)
        self._client = redis  # publishes; shared with the node's other Redis parts, which close it
        given = parse_url(url)
        self._known: list[tuple[str, int]] = [(given.pop("host", "localhost"), int(given.pop("port", 6379)))]
        given.pop("db", None)  # a cluster has only database 0
        # Every node is reached as the URL says: credentials, and TLS for rediss://.
        self._connection_class: type[Connection] = given.pop("connection_class", Connection)
        self._node_options = {**given, **redis_connection.options()}
        self._slots: list[tuple[int, int, tuple[str, int]]] = []  # (first, last, primary)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._links: dict[tuple[str, int], _Link] = {}
        self._homeless: set[str] = set()
        self._wake = asyncio.Event()
        self._stale = True  # the slot map must be (re-)read before placing anything
        self._failures = 0
        self._homer: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        self._homer = asyncio.create_task(self._rehome(), name="redis-cluster-broker-homer")

    async def close(self) -> None:
        self._closing = True
        tasks = [task for task in (self._homer, *(link.task for link in self._links.values())) if task]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._confirm_timeout)
        for link in list(self._links.values()):
            if link.connection is not None:
                await link.connection.disconnect(nowait=True)
        self._links.clear()

    async def ping(self) -> bool:
        if self._homeless or any(entry.link is None or not entry.link.live() for entry in self._channels.values()):
            return False
        try:
            return bool(await self._client.ping())
        except (redis_errors.RedisError, redis_errors.RedisClusterException, OSError):
            return False

    async def publish(self, channel: str, payload: bytes) -> None:
        try:
            await self._client.spublish(channel, payload)
        except (*redis_connection.UNREACHABLE, OSError) as exc:
            raise BrokerUnavailable(
                f"expected the cluster to take an SPUBLISH, got {type(exc).__name__}: {exc}"
            ) from exc

    _command = "SSUBSCRIBE"

    def _entry(self) -> _Channel:
        return _Channel()

    async def _open(self, channel: str, entry: _Channel) -> None:
        await self._place(channel, entry)

    async def _close(self, channel: str, entry: _Channel) -> None:
        self._homeless.discard(channel)
        await self._unsubscribe(channel, entry)

    # placing channels on shards ------------------------------------------------------------

    def _owner(self, channel: str) -> tuple[str, int] | None:
        slot = key_slot(channel.encode())
        for first, last, primary in self._slots:
            if first <= slot <= last:
                return primary
        return None

    async def _place(self, channel: str, entry: _Channel) -> None:
        """Subscribes `channel` on its slot's primary, or leaves it to the re-homing task."""
        owner = None if self._stale else self._owner(channel)
        if owner is None:
            self._unhome(channel, entry)
            return
        link = self._links.get(owner)
        if link is None:
            link = self._links[owner] = _Link(owner)
            link.task = asyncio.create_task(self._listen(link), name=f"redis-cluster-broker-{owner[1]}")
        entry.link = link
        link.channels.add(channel)
        if link.live():
            await self._send_subscribe(link, channel, entry)
        # else: the link subscribes every channel it carries once it has connected

    def _unhome(self, channel: str, entry: _Channel) -> None:
        if entry.link is not None:
            entry.link.channels.discard(channel)
            entry.link = None
        if self._channels.get(channel) is entry:
            self._homeless.add(channel)
            self._wake.set()

    async def _send_subscribe(self, link: _Link, channel: str, entry: _Channel) -> None:
        link.subscribing[channel].append(None if entry.ready.done() else entry.ready)
        try:
            assert link.connection is not None
            await link.connection.send_command("SSUBSCRIBE", channel, check_health=False)
        except _LOST:
            pass  # the link's reader sees the same loss and the channel is placed again

    async def _unsubscribe(self, channel: str, entry: _Channel) -> None:
        link, entry.link = entry.link, None
        if link is None:
            return
        link.channels.discard(channel)
        if not link.live():
            return  # a lost connection holds no subscriptions
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        link.unsubscribing[channel].append(done)
        try:
            assert link.connection is not None
            await link.connection.send_command("SUNSUBSCRIBE", channel, check_health=False)
            await asyncio.wait_for(asyncio.shield(done), self._confirm_timeout)
        except (*_LOST, TimeoutError):
            pass  # a lost connection drops the subscription anyway

    async def _rehome(self) -> None:
        """Places every channel that has no home, re-reading the slot map first when stale."""
        while not self._closing:
            if not self._homeless and not self._stale:
                await self._wake.wait()
            self._wake.clear()
            if self._failures:
                await asyncio.sleep(backoff(self._failures - 1, self._backoff_base, self._backoff_cap, jitter=False))
            if self._stale:
                try:
                    self._slots = await self._read_slots()
                    self._stale = False
                except _LOST as exc:
                    self._failures += 1
                    log.warning("no cluster node answered CLUSTER SLOTS (%s); %d channels wait", exc, len(self._homeless))
                    continue
            homeless, self._homeless = self._homeless, set()
            for channel in homeless:
                if (entry := self._channels.get(channel)) is not None and entry.link is None:
                    await self._place(channel, entry)

    async def _read_slots(self) -> list[tuple[int, int, tuple[str, int]]]:
        """The slot map from the first known node that answers."""
        for host, port in list(self._known):
            connection = self._connection_class(host=host, port=port, **self._node_options)
            try:
                await connection.connect()
                await connection.send_command("CLUSTER", "SLOTS")
                reply = await connection.read_response(timeout=self._confirm_timeout)
            except (*_LOST, redis_errors.ResponseError):
                continue
            finally:
                await connection.disconnect(nowait=True)
            slots = []
            for first, last, primary, *replicas in reply:
                slots.append((int(first), int(last), (primary[0].decode() or host, int(primary[1]))))
                for node in (primary, *replicas):
                    address = (node[0].decode() or host, int(node[1]))
                    if address not in self._known:
                        self._known.append(address)
            # Ask the node that answered first next time; a dead one goes last.
            self._known.remove((host, port))
            self._known.insert(0, (host, port))
            return slots
        raise redis_errors.ConnectionError(f"none of {len(self._known)} known cluster nodes answered")

    # one shard's connection ---------------------------------------------------------------

    async def _listen(self, link: _Link) -> None:
        host, port = link.address
        connection = self._connection_class(host=host, port=port, socket_keepalive=True, **self._node_options)
        try:
            await connection.connect()
            self._failures = 0
            # Set the connection and snapshot the channels without yielding in between: a
            # channel placed later sends its own SSUBSCRIBE on this connection.
            link.connection = connection
            for channel in list(link.channels):
                if (entry := self._channels.get(channel)) is not None and entry.link is link:
                    await self._send_subscribe(link, channel, entry)
            while not self._closing:
                try:
                    reply = await connection.read_response(timeout=math.inf, push_request=True)
                except redis_errors.MovedError as moved:  # an SSUBSCRIBE reached a former owner
                    self._moved(link, moved.slot_id)
                    continue
                self._dispatch(link, reply)
        except _LOST as exc:
            if not self._closing:
                self._failures += 1
                log.warning(
                    "redis cluster pub/sub connection to %s:%d lost (%s: %s) with %d channels; re-homing them",
                    host, port, type(exc).__name__, exc, len(link.channels),
                )
        except Exception:
            self._failures += 1
            log.exception("redis cluster pub/sub reader of %s:%d failed; re-homing its channels", host, port)
        finally:
            await connection.disconnect(nowait=True)
            link.connection = None
            if self._links.get(link.address) is link:
                del self._links[link.address]
            for pending in link.unsubscribing.values():
                for done in pending:
                    if not done.done():
                        done.set_result(None)
            if not self._closing:
                self._stale = True
                for channel in list(link.channels):
                    if (entry := self._channels.get(channel)) is not None:
                        self._unhome(channel, entry)
                self._wake.set()

    def _moved(self, link: _Link, slot: int) -> None:
        self._stale = True
        for channel in list(link.channels):
            if key_slot(channel.encode()) == slot and link.subscribing.get(channel):
                link.subscribing[channel].popleft()
                if (entry := self._channels.get(channel)) is not None:
                    self._unhome(channel, entry)
        self._wake.set()

    def _dispatch(self, link: _Link, reply: list) -> None:
        kind, channel = reply[0], reply[1].decode()
        entry = self._channels.get(channel)
        mine = entry is not None and entry.link is link
        if kind == b"smessage":
            if mine:
                entry.deliver(reply[2])
        elif kind == b"ssubscribe":
            pending = link.subscribing.get(channel)
            if not pending:
                return
            ready = pending.popleft()
            if ready is not None:
                if not ready.done():
                    ready.set_result(None)
            elif mine:
                entry.resubscribed()  # subscribed again after a gap: catch up
        elif kind == b"sunsubscribe":
            pending = link.unsubscribing.get(channel)
            if pending:
                done = pending.popleft()
                if not done.done():
                    done.set_result(None)
            elif mine:
                # The shard dropped the channel: its slot moved. Place it on the new owner.
                self._stale = True
                self._unhome(channel, entry)

