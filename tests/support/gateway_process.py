"""`gateway serve` as a real process (`python -m gateway serve`), as an operator runs it: its
output is read as it comes, so a test waits for a line or for the exit, never for a while.
`GatewayNode`: a node of a test config on its own port, which fault tests SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 30.0  # a cold interpreter on a shared 2-core machine
STOP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would configure the gateway."""
    environ = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("GATEWAY_", "TWILIO_")) and key != "PORT"
    }
    return {**environ, **extra}


@dataclass
class GatewayProcess:
    process: asyncio.subprocess.Process
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _readers: list[asyncio.Task] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.stdout + self.stderr)

    async def _read(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            async with self._changed:
                into.append(line.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()

    async def line(self, matches: Callable[[str], bool], timeout: float = START_TIMEOUT) -> str:
        """The first line of either stream that `matches`, waiting for it to be written."""
        def found() -> str | None:
            return next((line for line in self.stdout + self.stderr if matches(line)), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
            except TimeoutError:
                raise AssertionError(f"no such line within {timeout}s; output so far:\n{self.output}") from None
            return found()

    async def exited(self, timeout: float = START_TIMEOUT) -> int:
        """The exit code, once the process has ended and its output is read."""
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def stop(self) -> int:
        """SIGTERM, as a platform stops a node; returns the exit code."""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            return await self.exited(STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            raise AssertionError(f"the gateway did not stop within {STOP_TIMEOUT}s:\n{self.output}") from None


async def start(*args: str, environ: dict[str, str] | None = None, cwd: Path | None = None) -> GatewayProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "serve", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=environ if environ is not None else clean_environment(), cwd=cwd,
    )
    running = GatewayProcess(process)
    running._readers = [
        asyncio.create_task(running._read(process.stdout, running.stdout)),
        asyncio.create_task(running._read(process.stderr, running.stderr)),
    ]
    return running


@contextlib.asynccontextmanager
async def serving_process(*args: str, **kwargs) -> AsyncIterator[GatewayProcess]:
    """A gateway process that has said where it listens; stopped when the block ends."""
    running = await start(*args, **kwargs)
    try:
        await running.line(lambda line: "listening on http://" in line)
        yield running
    finally:
        await running.stop()


# Nodes for fault tests: a config dict, a free port, and SIGKILL. -----------------------------

STARTED = "Application startup complete"  # uvicorn's: the lifespan (workers, drainer) is up


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
        lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(key)} = {value(item)}" for key, item in body.items() if not isinstance(item, dict))
        for key, item in body.items():
            if isinstance(item, dict):
                table(f"{name}.{json.dumps(key)}", item)

    for name, body in raw.items():
        table(name, body)
    return "\n".join(lines) + "\n"


class GatewayNode:
    """One node of a test config (`base_config()`), on its own port, its public_url its own.
    `start` returns once its lifespan has started; `kill` is SIGKILL to its PID (nothing
    settles: leases run out, sockets drop); `stop` is SIGTERM."""

    def __init__(self, raw: dict, directory: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = name
        raw = {**raw, "gateway": {**raw.get("gateway", {}), "public_url": self.url}}
        self.config = directory / f"{name}.toml"
        self.config.write_text(toml_of(raw))
        self.running: GatewayProcess | None = None

    def ws_url(self, role: str, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{role}?token={token}"

    @property
    def pid(self) -> int:
        assert self.running is not None, f"node {self.name} is not running"
        return self.running.process.pid

    async def start(self) -> None:
        self.running = await start("--config", str(self.config), "--port", str(self.port))
        await self.running.line(lambda line: STARTED in line)

    async def kill(self) -> None:
        running, self.running = self.running, None
        if running is not None and running.process.returncode is None:
            os.kill(running.process.pid, signal.SIGKILL)  # this node only, by its PID
            await running.exited()

    async def stop(self) -> None:
        running, self.running = self.running, None
        if running is not None:
            await running.stop()
