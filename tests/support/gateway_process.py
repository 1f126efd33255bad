"""The gateway as a real process (`python -m gateway serve --config ...`) on a free port, for
fault tests that kill a node with SIGKILL. Only processes started here are signalled, by PID."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from support.redis_server import free_port

STARTED = "Application startup complete"
START_TIMEOUT = 30.0


def toml_of(raw: dict) -> str:
    """A test config dict as TOML (strings, numbers, booleans, lists of strings, tables)."""
    lines: list[str] = []

    def value(item: object) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, (int, float)):
            return repr(item)
        if isinstance(item, str):
            return json.dumps(item)  # a TOML basic string reads JSON's escapes
        if isinstance(item, list):
            return "[" + ", ".join(value(element) for element in item) + "]"
        raise TypeError(f"expected a TOML scalar or list, got {item!r}")

    def table(name: str, body: dict) -> None:
        scalars = {key: item for key, item in body.items() if not isinstance(item, dict)}
        lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(key)} = {value(item)}" for key, item in scalars.items())
        for key, item in body.items():
            if isinstance(item, dict):
                table(f"{name}.{json.dumps(key)}", item)

    for name, body in raw.items():
        table(name, body)
    return "\n".join(lines) + "\n"


class GatewayProcess:
    """One node. `start` returns once its lifespan has started (its log says so); `kill`
    is SIGKILL (nothing settles: leases run out, sockets drop); `stop` is SIGTERM."""

    def __init__(self, raw: dict, directory: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = name
        raw = {**raw, "gateway": {**raw.get("gateway", {}), "public_url": self.url}}
        self.config = directory / f"{name}.toml"
        self.config.write_text(toml_of(raw))
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=200)

    def ws_url(self, role: str, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{role}?token={token}"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the node is not running"
        return self._process.pid

    @property
    def log(self) -> str:
        return "".join(self._output)

    def start(self) -> None:
        environ = {
            key: value for key, value in os.environ.items() if not key.startswith(("GATEWAY_", "TWILIO_"))
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(self.config), "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environ,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self._process, lines), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise RuntimeError(f"expected node {self.name} to start within {START_TIMEOUT}s:\n{self.log}") from None
            if line is None:
                raise RuntimeError(f"node {self.name} exited with {self._process.wait()}:\n{self.log}")
            if STARTED in line:
                return

    def _read(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self._output.append(line)
                lines.put(line)
        lines.put(None)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        os.kill(process.pid, signum)  # this node only, by its PID
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def akill(self) -> None:
        await asyncio.to_thread(self.kill)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)
