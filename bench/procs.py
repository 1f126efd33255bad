"""The bench's processes: starting them, telling them to go, and what they cost (CPU, RSS)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TICKS = os.sysconf("SC_CLK_TCK")


def raise_file_limit() -> int:
    """Soft open-files limit up to the hard one (10,000 sockets need it); children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Usage:
    """CPU seconds used by a process so far and its peak resident memory (KB)."""

    cpu: float
    peak_kb: int
    rss_kb: int


def usage(pid: int) -> Usage:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    peak = rss = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return Usage(cpu, peak, rss)


class Child:
    """A Python child process speaking lines: it prints `ready` once set up, waits for `go`
    on stdin, and prints one JSON line with its results."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self, timeout: float = 120) -> None:
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if line.strip() != b"ready":
            raise RuntimeError(f"{self.name} did not get ready: {line!r}")

    def go(self, at: float) -> None:
        self.process.stdin.write(f"go {at}\n".encode())

    async def result(self, timeout: float = 120) -> dict:
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"{self.name} exited without a result")
        return json.loads(line)


async def start_child(name: str, script: str, *args: str) -> Child:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / script), *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024,
    )
    return Child(name, process)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await process.wait()


@asynccontextmanager
async def gateway_node(config: Path, name: str, python: str = sys.executable):
    """One `gateway serve` process (of the gateway installed for `python`: another build may
    be compared); yields (url, pid, its warning lines) once uvicorn is up."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        python, "-m", "gateway", "serve", "--config", str(config), "--port", str(port),
        env={**os.environ, "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}"},
        cwd=config.parent,  # `-m gateway` must not find a checkout in the current directory
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    log: list[bytes] = []

    async def started() -> None:
        async for line in process.stderr:
            log.append(line)
            if b"Application startup complete" in line:
                return
        raise RuntimeError(f"node {name} exited before it started: {b''.join(log[-5:])!r}")

    try:
        await asyncio.wait_for(started(), 30)
        draining = asyncio.create_task(_drain(process.stderr, log))
        yield f"http://127.0.0.1:{port}", process.pid, log
    finally:
        await stop(process)
    draining.cancel()


async def _drain(stream: asyncio.StreamReader, log: list[bytes]) -> None:
    async for line in stream:  # keep the pipe from filling; keep warnings for the report
        if b"WARNING" in line or b"ERROR" in line:
            log.append(line)
