"""One load-generator process of the open-loop chat bench (run by bench/run.py).

It holds both sides of its slice of the orders: each shopper's socket on node A, its
customer's on node B. On `go T0` it sends chat at a fixed rate from T0 for the given seconds,
whatever the server does (open loop: a slow answer never delays the next send), spreading
sends over its orders in turn. Every text carries its send time, so the customer's side
measures send -> delivery. It reports, as one JSON line: sends, acks, errors by code,
deliveries, latencies (ms), and how far its own sends fell behind their schedule.

    python bench/loadgen.py PLAN SLICE SLICES RATE SECONDS TAG
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter

import uvloop
import websockets

DRAIN = 5.0  # seconds after the last send to wait for the last answers and deliveries


async def _joined(ws, order_id: str) -> None:
    """Joins, asking again after an error frame (a node still busy from the last rate)."""
    for _ in range(100):
        await ws.send(json.dumps({"type": "join", "order_id": order_id}))
        while (kind := json.loads(await ws.recv())["type"]) not in ("joined", "error"):
            pass
        if kind == "joined":
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"could not join order {order_id}")


async def main(plan_path: str, index: int, slices: int, rate: float, seconds: float, tag: str) -> None:
    plan = json.loads(open(plan_path).read())
    orders = plan["orders"][index::slices]
    a, b = plan["a"].replace("http", "ws", 1), plan["b"].replace("http", "ws", 1)
    options = {"max_queue": None, "compression": None, "open_timeout": 60}
    shoppers = [await websockets.connect(f"{a}/ws/shopper?token={o['shopper_token']}", **options) for o in orders]
    customers = [await websockets.connect(f"{b}/ws/customer?token={o['customer_token']}", **options) for o in orders]
    await asyncio.gather(*(_joined(ws, o["id"]) for ws, o in zip(shoppers, orders)))
    await asyncio.gather(*(_joined(ws, o["id"]) for ws, o in zip(customers, orders)))

    total = int(rate * seconds)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    answered = asyncio.Event()
    delivered = asyncio.Event()

    async def shopper_side(ws) -> None:
        async for raw in ws:
            kind = raw[9:14]  # '{"type":"ack"...': no need to parse the whole frame
            if kind.startswith("ack"):
                outcomes["ack"] += 1
            elif kind.startswith("error"):
                outcomes[json.loads(raw)["code"]] += 1
            else:
                continue
            if sum(outcomes.values()) >= total:
                answered.set()

    async def customer_side(ws) -> None:
        async for raw in ws:
            if raw.startswith('{"type":"message"'):
                now = time.monotonic_ns()
                frame = json.loads(raw)
                latencies.append((now - int(frame["message"]["text"])) / 1e6)
                if len(latencies) >= total:
                    delivered.set()

    readers = [asyncio.create_task(shopper_side(ws)) for ws in shoppers]
    readers += [asyncio.create_task(customer_side(ws)) for ws in customers]
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    start = float(line.split()[1])
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    cpu_start = time.process_time()

    lags: list[float] = []
    sent = 0
    interval = 1.0 / rate
    while sent < total:
        due = min(total, int((time.monotonic() - start) / interval) + 1)
        while sent < due:
            n = sent % len(orders)
            now_ns = time.monotonic_ns()
            lags.append(now_ns / 1e6 - (start + sent * interval) * 1000)
            frame = f'{{"type":"send","order_id":"{orders[n]["id"]}","client_id":"{tag}-{index}-{sent}","text":"{now_ns}"}}'
            await shoppers[n].send(frame)
            sent += 1
        wake = start + sent * interval
        await asyncio.sleep(max(0.0, wake - time.monotonic()))
    ended = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(answered.wait(), delivered.wait()), DRAIN)
    except TimeoutError:
        pass
    lags.sort()
    print(json.dumps({
        "sent": sent, "outcomes": dict(outcomes), "latencies": latencies,
        "lag_p99": lags[int(len(lags) * 0.99)] if lags else 0.0, "lag_max": lags[-1] if lags else 0.0,
        "send_seconds": ended - start, "cpu": time.process_time() - cpu_start,
        "wall": time.monotonic() - start,
        "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }), flush=True)
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in shoppers + customers), return_exceptions=True)


if __name__ == "__main__":
    plan, index, slices, rate, seconds, tag = sys.argv[1:7]
    uvloop.run(main(plan, int(index), int(slices), float(rate), float(seconds), tag))
