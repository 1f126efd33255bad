"""A real Redis Cluster for tests: three primaries and three replicas, each a Debian
redis-server on free ports of 127.0.0.1 (never the default port), in its own directory.

- `redis_cluster` (session): one cluster shared by the whole run; tests keep apart by unique
  ids, never by flushing.
- `redis_cluster_url` (function): the URL of one of its nodes.
- `failover_cluster` (function): a cluster of its own, with `appendonly yes` and
  `appendfsync always`, whose primaries a test may SIGKILL (`kill_primary_of`), waiting for
  a replica to take over.

`redis-cli --cluster create` assigns the slots and the replicas; the fixture then waits until
every node says `cluster_state:ok`, agrees on who owns every slot, and every replica's link to
its primary is up (a failover needs a replica that has the data).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from gateway import redis_connection

from support.processes import ReadyProcess
from support.redis_server import RedisServer

NODE_TIMEOUT_MS = 1000  # how long a silent primary takes to be judged failed
READY_TIMEOUT = 30.0
POLL = 0.05  # between looks at CLUSTER INFO while the cluster forms (no event to wait on)


def _free_ports(count: int) -> list[int]:
    """Ports free right now, held open together so that they are distinct."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class ClusterNode(RedisServer):
    """One redis-server with `cluster-enabled yes`; its cluster bus on a port of its own."""

    def __init__(self, directory: Path, port: int, bus_port: int, *, appendonly: bool) -> None:
        # With appendonly, `appendfsync always`: what a primary acked is on its disk.
        super().__init__(directory, appendonly=appendonly, fsync_always=appendonly)
        self.port = port
        self.bus_port = bus_port
        self._process = ReadyProcess(f"redis cluster node on port {port}", tail=50)

    def extra_arguments(self) -> list[str]:
        return [
            "--cluster-enabled", "yes", "--cluster-port", str(self.bus_port),
            "--cluster-config-file", str(self.directory / "nodes.conf"),
            "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
            # A replica may take over however long it was cut off (the test kills at will).
            "--cluster-replica-validity-factor", "0",
            "--repl-diskless-sync-delay", "0",  # replicas sync at once, not after 5 s
        ]

    @property
    def pid(self) -> int:
        return self._process.pid

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2.0, decode_responses=True)


@dataclass(frozen=True)
class Killed:
    """A primary that was SIGKILLed, and what it owned."""

    port: int
    pid: int
    slots: list[tuple[int, int]]  # the slot ranges it served, now its former replica's
    successor: int  # the port of the replica that took over


class RedisCluster:
    def __init__(self, directory: Path, *, appendonly: bool, primaries: int = 3, replicas: int = 1) -> None:
        count = primaries * (1 + replicas)
        ports = _free_ports(2 * count)
        self.nodes: list[ClusterNode] = []
        for index in range(count):
            node_dir = directory / f"node{index}"
            node_dir.mkdir()
            self.nodes.append(ClusterNode(node_dir, ports[2 * index], ports[2 * index + 1], appendonly=appendonly))
        self._replicas = replicas
        self.killed: list[ClusterNode] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.live()[0].port}/0"

    def live(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node not in self.killed]

    def start(self) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail(
                "redis-cli is not installed: the cluster tests need it (Debian: apt-get install redis-tools)",
                pytrace=False,
            )
        for node in self.nodes:
            node.start()
        if self._replicas == 0 and len(self.nodes) < 3:
            self._create_by_hand()  # redis-cli creates no cluster of fewer than 3 primaries
            return
        create = [
            cli, "--cluster", "create", *(f"127.0.0.1:{node.port}" for node in self.nodes),
            "--cluster-replicas", str(self._replicas), "--cluster-yes",
        ]
        result = subprocess.run(create, capture_output=True, text=True, timeout=READY_TIMEOUT)
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"expected redis-cli --cluster create to succeed, got:\n{result.stdout}{result.stderr}")
        self.wait_until_settled()

    def _create_by_hand(self) -> None:
        """A cluster of one or two primaries (the bench's 1- and 2-shard runs): each takes an
        equal share of the slots, and they meet."""
        share = 16384 // len(self.nodes)
        for index, node in enumerate(self.nodes):
            last = 16383 if index == len(self.nodes) - 1 else (index + 1) * share - 1
            with node.client() as client:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", index * share, last)
                client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
                if index:
                    client.execute_command("CLUSTER", "MEET", "127.0.0.1", self.nodes[0].port, self.nodes[0].bus_port)
        self.wait_until_settled()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    # what the cluster says ----------------------------------------------------------------

    def slots_of(self) -> dict[int, list[tuple[int, int]]]:
        """Each primary's port -> the slot ranges it serves, as a live node sees it."""
        with self.live()[0].client() as client:
            owners: dict[int, list[tuple[int, int]]] = {}
            for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
                owners.setdefault(int(primary[1]), []).append((int(start), int(end)))
        return owners

    def primaries(self) -> list[ClusterNode]:
        owners = self.slots_of()
        return [node for node in self.live() if node.port in owners]

    def node_for_key(self, key: str) -> ClusterNode:
        """The primary serving `key`'s slot."""
        with self.live()[0].client() as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
        for port, ranges in self.slots_of().items():
            if any(start <= slot <= end for start, end in ranges):
                return next(node for node in self.live() if node.port == port)
        raise AssertionError(f"expected slot {slot} to have a primary, got none")

    def _settled(self) -> bool:
        views = set()
        for node in self.live():
            try:
                with node.client() as client:
                    if "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                        return False
                    slots = client.execute_command("CLUSTER", "SLOTS")
                    info = client.info("replication")
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                return False
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
            views.add(tuple(sorted((int(s), int(e), int(primary[1])) for s, e, primary, *_ in slots)))
        # Every node agrees on one owner for each slot, and every slot is served.
        return len(views) == 1 and sum(end - start + 1 for start, end, _ in next(iter(views))) == 16384

    def wait_until_settled(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._settled():
            if time.monotonic() > deadline:
                raise RuntimeError(f"expected the cluster to settle within {READY_TIMEOUT}s, it did not")
            time.sleep(POLL)

    # crashes ------------------------------------------------------------------------------

    def kill_primary(self, node: ClusterNode) -> Killed:
        """SIGKILLs a primary by its PID and waits until its replica serves its slots."""
        slots = self.slots_of()[node.port]
        pid = node.pid
        node.kill()
        self.killed.append(node)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self._settled():
                owners = self.slots_of()
                successor = next(port for port, ranges in owners.items() if slots[0] in ranges)
                if successor != node.port:
                    return Killed(port=node.port, pid=pid, slots=slots, successor=successor)
            if time.monotonic() > deadline:
                raise RuntimeError(f"expected a replica to take over slots {slots} within {READY_TIMEOUT}s")
            time.sleep(POLL)

    def move_slot_of(self, key: str) -> ClusterNode:
        """Moves `key`'s slot, with its keys, to another primary (a resharding step, as
        `redis-cli --cluster reshard` does it); returns the new owner."""
        source = self.node_for_key(key)
        target = next(node for node in self.primaries() if node is not source)
        with source.client() as src, target.client() as dst:
            slot = int(src.execute_command("CLUSTER", "KEYSLOT", key))
            source_id, target_id = src.execute_command("CLUSTER", "MYID"), dst.execute_command("CLUSTER", "MYID")
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            others = [node for node in self.primaries() if node not in (source, target)]
            for node in (target, source, *others):
                with node.client() as client:
                    client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        self.wait_until_settled()
        return target

    def kill_primary_of(self, key: str) -> Killed:
        return self.kill_primary(self.node_for_key(key))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"), appendonly=False)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisCluster) -> str:
    return redis_cluster.url


@pytest.fixture
def failover_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    directory = tmp_path / "redis-cluster"
    directory.mkdir()
    cluster = RedisCluster(directory, appendonly=True)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["redis", "cluster"])
def redis_gateway(request: pytest.FixtureRequest) -> dict:
    """The [gateway] keys of scale-out mode, on one Redis and on a Redis Cluster: the tests
    that use it prove the same behaviour on both."""
    if request.param == "cluster":
        return {"redis_url": request.getfixturevalue("redis_cluster_url"), "redis_cluster": True}
    return {"redis_url": request.getfixturevalue("redis_url")}


async def started_cluster_client(url: str) -> AsyncRedisCluster:
    """A node's cluster client, its slot map read as SharedClusterClient.start reads it."""
    client = redis_connection.cluster_client(url)
    await client.initialize()
    return client
