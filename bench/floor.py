"""The floor: raw Redis pub/sub between two plain processes, on the same redis-server, at the
same rate over as many channels as the chat bench has orders. Nothing of the gateway: what
any design on this stack pays for crossing processes through Redis.

    python bench/floor.py pub REDIS_URL CHANNELS RATE SECONDS
    python bench/floor.py sub REDIS_URL CHANNELS RATE SECONDS
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import redis.asyncio as aioredis
import uvloop

DRAIN = 5.0


async def _go() -> float:
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    start = float(line.split()[1])
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    return start


def _cost(start: float, cpu_start: float) -> dict:
    return {"cpu": time.process_time() - cpu_start, "wall": time.monotonic() - start,
            "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


async def publish(url: str, channels: int, rate: float, seconds: float) -> None:
    # Publishes overlap (open loop) on up to 200 connections; past that the publisher waits,
    # which shows as its lag behind schedule.
    client = aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(url, max_connections=200, timeout=None))
    await client.ping()
    start = await _go()
    cpu_start = time.process_time()
    total, interval, sent, lags = int(rate * seconds), 1.0 / rate, 0, []
    pending: set[asyncio.Task] = set()
    while sent < total:
        due = min(total, int((time.monotonic() - start) / interval) + 1)
        while sent < due:
            now_ns = time.monotonic_ns()
            lags.append(now_ns / 1e6 - (start + sent * interval) * 1000)
            # Open loop: publishes overlap as the chat sends do (each on a pooled connection).
            task = asyncio.create_task(client.publish(f"floor:{sent % channels}", str(now_ns)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.sleep(max(0.0, start + sent * interval - time.monotonic()))
    await asyncio.gather(*pending, return_exceptions=True)
    lags.sort()
    print(json.dumps({"sent": sent, "lag_p99": lags[int(len(lags) * 0.99)], "lag_max": lags[-1],
                      **_cost(start, cpu_start)}), flush=True)
    await client.aclose()


async def subscribe(url: str, channels: int, rate: float, seconds: float) -> None:
    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(*(f"floor:{n}" for n in range(channels)))
    for _ in range(channels):
        await pubsub.get_message(timeout=5)  # the confirmations
    total, latencies = int(rate * seconds), []

    async def receive() -> None:
        while len(latencies) < total:
            message = await pubsub.get_message(timeout=None)
            if message and message["type"] == "message":
                latencies.append((time.monotonic_ns() - int(message["data"])) / 1e6)

    start = await _go()
    cpu_start = time.process_time()
    try:
        await asyncio.wait_for(receive(), seconds + DRAIN)
    except TimeoutError:
        pass
    print(json.dumps({"latencies": latencies, **_cost(start, cpu_start)}), flush=True)
    await pubsub.aclose()
    await client.aclose()


if __name__ == "__main__":
    role, url, channels, rate, seconds = sys.argv[1:6]
    run = publish if role == "pub" else subscribe
    uvloop.run(run(url, int(channels), float(rate), float(seconds)))
