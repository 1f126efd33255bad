"""The gateway as a real process (`python -m gateway serve --config ...`) on a free port, for
fault tests that kill a node with SIGKILL. Only processes started here are signalled, by PID."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from support.processes import ReadyProcess
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
        self._process = ReadyProcess(f"gateway node {name} on port {self.port}")

    def ws_url(self, role: str, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{role}?token={token}"

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def log(self) -> str:
        return self._process.output

    def start(self) -> None:
        environ = {
            key: value for key, value in os.environ.items() if not key.startswith(("GATEWAY_", "TWILIO_"))
        }
        command = [sys.executable, "-m", "gateway", "serve", "--config", str(self.config), "--port", str(self.port)]
        self._process.start(command, STARTED, START_TIMEOUT, env=environ)

    def kill(self) -> None:
        self._process.signal(signal.SIGKILL)

    def stop(self) -> None:
        self._process.signal(signal.SIGTERM)

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def akill(self) -> None:
        await asyncio.to_thread(self.kill)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)
