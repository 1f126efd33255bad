"""The idle scenario's client (run by bench/run.py): opens N customer sockets to one node,
each joined to one of the plan's orders, and holds them while the node's memory is read.
Reports how fast they connected (handshake + join, `CONCURRENCY` at a time).

    python bench/idle.py PLAN SOCKETS
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import uvloop
import websockets

CONCURRENCY = 200


async def main(plan_path: str, count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    plan = json.loads(open(plan_path).read())
    orders, base = plan["orders"], plan["a"].replace("http", "ws", 1)
    sockets: list = []
    slots = asyncio.Semaphore(CONCURRENCY)

    async def open_one(n: int) -> None:
        order = orders[n % len(orders)]
        async with slots:
            ws = await websockets.connect(
                f"{base}/ws/customer?token={order['customer_token']}", compression=None, open_timeout=60
            )
            await ws.send(json.dumps({"type": "join", "order_id": order["id"]}))
            while json.loads(await ws.recv())["type"] != "joined":
                pass
            sockets.append(ws)

    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    started, cpu = time.monotonic(), time.process_time()
    results = await asyncio.gather(*(open_one(n) for n in range(count)), return_exceptions=True)
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    print(json.dumps({"open": len(sockets), "failed": len(failed), "first_failure": failed[:1],
                      "seconds": elapsed, "client_cpu": 100 * cpu / elapsed}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # measured: let go
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], int(sys.argv[2])))
