"""make bench: how fast the gateway carries chat, against a bare relay measured in the same run.

Each scenario runs servers as separate processes (the real `gateway serve`), then drives
ORDERS shopper/customer pairs at once; each shopper sends MESSAGES texts one after another
(the next after the ack) and the customer receives them. Reported: messages delivered per
second and send->receive latency. The machine is shared and noisy, so the figures that
mean something are the ratios against the baseline, a bare WebSocket relay on the same
stack with no gateway logic, measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the suite's redis-server launcher and free ports

from support.redis_server import RedisServer  # noqa: E402
from support.serving import listening_socket  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "20"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100"))
OPERATOR, RETAILER, SECRET = "op-bench", "rk-bench", "bench-secret"


def _free_port() -> int:
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


@asynccontextmanager
async def _process(args: list[str], port: int, env: dict | None = None):
    """Runs a server process until the block ends; yields once uvicorn says it is up."""
    process = await asyncio.create_subprocess_exec(
        *args, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )

    async def started() -> None:
        async for line in process.stderr:
            if b"Application startup complete" in line:
                return
        raise RuntimeError(f"{args[1:3]} exited before it started")

    try:
        await asyncio.wait_for(started(), 30)
        draining = asyncio.create_task(process.stderr.read())  # keep the pipe from filling
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()
    draining.cancel()


def _config(directory: Path, redis_url: str = "") -> Path:
    path = directory / f"bench-{len(list(directory.iterdir()))}.toml"
    path.write_text(
        f'[gateway]\nsecret = "{SECRET}"\noperator_key = "{OPERATOR}"\nredis_url = "{redis_url}"\n'
        "[limits]\nchat_per_second = 0\n"
        f'[retailers.bench]\napi_key = "{RETAILER}"\n'
    )
    return path


@asynccontextmanager
async def _gateway(config: Path):
    port = _free_port()
    async with _process(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port)],
        port, {"GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}"},
    ) as url:
        yield url


async def _expect(ws, kind: str) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == kind:
            return frame


async def _pair_through_gateway(shopper_url: str, customer_url: str, n: int, latencies: list[float]) -> None:
    order_id = f"bench-{n}-{time.monotonic_ns()}"
    bearer = lambda key: {"Authorization": f"Bearer {key}"}  # noqa: E731
    async with httpx.AsyncClient(base_url=shopper_url, trust_env=False, timeout=30) as http:
        created = await http.post("/v1/orders", headers=bearer(RETAILER), json={
            "id": order_id, "workflow": "delivery", "customer": {"phone": "+15551230001"}})
        await http.post(f"/v1/orders/{order_id}/events", headers=bearer(OPERATOR), json={
            "event_id": "p", "event_name": "picking", "shopper": {"id": f"s{n}", "name": "Alex"}})
        token = (await http.post(f"/v1/shoppers/s{n}/tokens", headers=bearer(OPERATOR))).json()["token"]
    customer_token = created.json()["customer_token"]
    ws_base = lambda url: url.replace("http", "ws", 1)  # noqa: E731
    async with (
        websockets.connect(f"{ws_base(shopper_url)}/ws/shopper?token={token}") as shopper,
        websockets.connect(f"{ws_base(customer_url)}/ws/customer?token={customer_token}") as customer,
    ):
        for ws in (shopper, customer):
            await ws.send(json.dumps({"type": "join", "order_id": order_id}))
            await _expect(ws, "joined")

        async def receive() -> None:
            for _ in range(MESSAGES):
                frame = await _expect(customer, "message")
                latencies.append(time.perf_counter() - float(frame["message"]["text"]))

        receiving = asyncio.create_task(receive())
        for i in range(MESSAGES):
            await shopper.send(json.dumps({
                "type": "send", "order_id": order_id, "client_id": str(i), "text": repr(time.perf_counter())}))
            await _expect(shopper, "ack")
        await receiving


async def _pair_through_relay(url: str, n: int, latencies: list[float]) -> None:
    base = url.replace("http", "ws", 1)
    async with (
        websockets.connect(f"{base}/relay/{n}/a") as sender,
        websockets.connect(f"{base}/relay/{n}/b") as receiver,
    ):
        await sender.send("0")  # both sides are registered once this comes through
        await sender.recv()
        await receiver.recv()

        async def receive() -> None:
            for _ in range(MESSAGES):
                text = await receiver.recv()
                latencies.append(time.perf_counter() - float(text))

        receiving = asyncio.create_task(receive())
        for _ in range(MESSAGES):
            await sender.send(repr(time.perf_counter()))
            await sender.recv()
        await receiving


async def _measure(pairs) -> dict:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(pair(n, latencies) for n, pair in enumerate(pairs)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def main() -> None:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        port = _free_port()
        async with _process([sys.executable, str(ROOT / "bench" / "relay.py"), "--port", str(port)], port) as url:
            results["baseline: bare relay"] = await _measure(
                [lambda n, lat, url=url: _pair_through_relay(url, n, lat)] * ORDERS)
        async with _gateway(_config(directory)) as url:
            results["gateway, embedded"] = await _measure(
                [lambda n, lat: _pair_through_gateway(url, url, n, lat)] * ORDERS)
        (directory / "redis").mkdir()
        redis = RedisServer(directory / "redis", appendonly=False)
        redis.start()
        try:
            async with _gateway(_config(directory, redis.url)) as url:
                results["gateway, redis, 1 node"] = await _measure(
                    [lambda n, lat: _pair_through_gateway(url, url, n, lat)] * ORDERS)
            async with AsyncExitStack() as stack:
                a = await stack.enter_async_context(_gateway(_config(directory, redis.url)))
                b = await stack.enter_async_context(_gateway(_config(directory, redis.url)))
                results["gateway, redis, 2 nodes (A->B)"] = await _measure(
                    [lambda n, lat: _pair_through_gateway(a, b, n, lat)] * ORDERS)
        finally:
            redis.stop()
    base = results["baseline: bare relay"]
    print(f"\n{ORDERS} orders x {MESSAGES} messages each, shopper -> customer, sent one after another per order")
    print(f"{'scenario':34} {'msg/s':>8} {'x base':>7} {'p50 ms':>8} {'x base':>7} {'p99 ms':>8} {'x base':>7}")
    for name, r in results.items():
        print(f"{name:34} {r['rate']:8.0f} {r['rate'] / base['rate']:7.2f} {r['p50']:8.2f} "
              f"{r['p50'] / base['p50']:7.2f} {r['p99']:8.2f} {r['p99'] / base['p99']:7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
