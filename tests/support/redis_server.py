"""Real redis-server processes for tests: on a free port of 127.0.0.1, never the default port, each in
its own temporary directory.

- `redis_server` (session): one server without persistence, shared by the whole run; tests
  keep apart by using unique ids and prefixes, never by flushing.
- `redis_url` (function): that server's URL.
- `restartable_redis` (function): a server of its own with `--appendonly yes`, which a test
  stops and starts again (same port, same data) to play an outage.
"""

from __future__ import annotations

import asyncio
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

READY = "Ready to accept connections"
START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process that can be stopped and started again on the same port and
    data directory. Its output is read by a thread, so the pipe never fills up."""

    def __init__(self, directory: Path, *, appendonly: bool) -> None:
        self.port = _free_port()
        self.directory = directory
        self._appendonly = appendonly
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._output: deque[str] = deque(maxlen=50)  # the tail, for error messages

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
            "--save", "", "--appendonly", "yes" if self._appendonly else "no", "--logfile", "",
            *self.extra_arguments(),
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(self._process, lines), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(0.0, remaining))
            except queue.Empty:
                self.stop()
                raise RuntimeError(
                    f"expected redis-server on port {self.port} to say {READY!r} within "
                    f"{START_TIMEOUT}s, got:\n" + "".join(self._output)
                ) from None
            if line is None:
                raise RuntimeError(
                    f"expected redis-server on port {self.port} to start, but it exited with "
                    f"{self._process.wait()}:\n" + "".join(self._output)
                )
            if READY in line:
                return

    def extra_arguments(self) -> list[str]:
        """More redis-server arguments, for a kind of server (a cluster node) that needs them."""
        return []

    def _read(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self._output.append(line)
                lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        """Stops the server (SIGTERM: with appendonly, what it acknowledged is on disk)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)  # it closes the pipe once it reads the end

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
