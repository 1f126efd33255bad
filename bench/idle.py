"""The idle scenario's client (run by bench/run.py): opens N customer sockets to one node,
each joined to one of the plan's orders, and holds them while the node's memory is read.
Reports how fast they connected (handshake + join, `CONCURRENCY` at a time).

It speaks just enough WebSocket on a bare asyncio Protocol (a prepared handshake, one masked
`join` frame, pongs) rather than through a WebSocket library: on 2 cores the client's CPU is
taken from the node's, and a library client cost as much per connect as the node did.

    python bench/idle.py PLAN SOCKETS
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from urllib.parse import urlsplit

import uvloop

CONCURRENCY = 200
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # any 16 bytes in base64 will do; the node answers with its hash
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame, masked as the protocol requires (with a zero key: the payload as is)."""
    length = len(payload)
    size = bytes([0x80 | length]) if length < 126 else bytes([0x80 | 126]) + length.to_bytes(2, "big")
    return bytes([0x80 | opcode]) + size + b"\0\0\0\0" + payload


class Customer(asyncio.Protocol):
    """One customer socket: handshake, join, then it holds the connection and answers pings."""

    def __init__(self, request: bytes, join: bytes, joined: asyncio.Future[None]) -> None:
        self.request, self.join, self.joined = request, join, joined
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self._fail(f"handshake refused: {bytes(self.buffer[:40])!r}")
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self.transport.write(self.join)
        self._frames()

    def _frames(self) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == PING:
                self.transport.write(client_frame(PONG, payload))
            elif opcode == CLOSE:
                self._fail("closed by the node")
            elif opcode == TEXT and not self.joined.done() and b'"type":"joined"' in payload:
                self.joined.set_result(None)

    def _fail(self, why: str) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(why))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(f"connection lost: {exc!r}"))


async def main(plan_path: str, count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    plan = json.loads(open(plan_path).read())
    orders, node = plan["orders"], urlsplit(plan["a"])
    loop = asyncio.get_running_loop()
    held: list[asyncio.Transport] = []
    slots = asyncio.Semaphore(CONCURRENCY)

    async def open_one(n: int) -> None:
        order = orders[n % len(orders)]
        request = (
            f"GET /ws/customer?token={order['customer_token']} HTTP/1.1\r\nHost: {node.netloc}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        join = client_frame(TEXT, json.dumps({"type": "join", "order_id": order["id"]}).encode())
        async with slots:
            joined = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda: Customer(request, join, joined), node.hostname, node.port
            )
            held.append(transport)
            await asyncio.wait_for(joined, 60)

    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    started, cpu = time.monotonic(), time.process_time()
    results = await asyncio.gather(*(open_one(n) for n in range(count)), return_exceptions=True)
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    print(json.dumps({"open": count - len(failed), "failed": len(failed), "first_failure": failed[:1],
                      "seconds": elapsed, "client_cpu": 100 * cpu / elapsed}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # measured: let go
    for transport in held:
        transport.close()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], int(sys.argv[2])))
