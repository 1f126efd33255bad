"""`gateway serve` as a real process (`python -m gateway serve`), as an operator runs it: its
output is read as it comes, so a test waits for a line or for the exit, never for a while."""

from __future__ import annotations

import asyncio
import contextlib
import os
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
