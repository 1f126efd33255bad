"""Real redis-server processes for tests: on a free port of 127.0.0.1, never the default port, each in
its own temporary directory.

- `redis_server` (session): one server without persistence, shared by the whole run; tests
  keep apart by using unique ids and prefixes, never by flushing.
- `redis_url` (function): that server's URL.
- `restartable_redis` (function): a server of its own with `--appendonly yes`, which a test
  stops and starts again (same port, same data) to play an outage.
- `crashable_redis` (function): the same with `--appendfsync always`, which a test may SIGKILL.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.processes import ReadyProcess

READY = "Ready to accept connections"
START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process that can be stopped (or killed) and started again on the same
    port and data directory."""

    def __init__(self, directory: Path, *, appendonly: bool, fsync_always: bool = False) -> None:
        self.port = _free_port()
        self.directory = directory
        self._appendonly = appendonly
        self._fsync = "always" if fsync_always else "everysec"
        self._process = ReadyProcess(f"redis-server on port {self.port}", tail=50)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail(
                "redis-server is not installed: integration tests need a real one. "
                "`.ci/run` and `make test` install it (Debian: apt-get install redis-server).",
                pytrace=False,
            )
        command = [
            executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--save", "", "--appendonly", "yes" if self._appendonly else "no", "--appendfsync", self._fsync, "--logfile", "",
            *self.extra_arguments(),
        ]
        self._process.start(command, READY, START_TIMEOUT)

    def extra_arguments(self) -> list[str]:
        """More redis-server arguments, for a kind of server (a cluster node) that needs them."""
        return []

    def stop(self) -> None:
        """Stops the server (SIGTERM: with appendonly, what it acknowledged is on disk)."""
        self._process.signal(signal.SIGTERM, timeout=10)

    def kill(self) -> None:
        """Kills the server at once (SIGKILL, by its PID): what it did not write is gone;
        with `fsync_always`, nothing it acknowledged is."""
        self._process.signal(signal.SIGKILL)

    async def akill(self) -> None:
        await asyncio.to_thread(self.kill)

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def restartable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, appendonly=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def crashable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of its own whose every acknowledged write is on disk before the answer
    (`appendfsync always`), so a test may SIGKILL it and start it again without losing any."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, appendonly=True, fsync_always=True)
    server.start()
    yield server
    server.stop()
