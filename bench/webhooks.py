"""The webhook scenario's client (run by bench/run.py): customers text in, as Twilio would
(form posts signed with Twilio's RequestValidator over the node's public URL), to node A, as
fast as the node answers with `CONCURRENCY` requests in flight, for SECONDS; each order's
shopper listens on node B. Reports texts accepted per second and whether each was relayed
to its shopper exactly once.

    python bench/webhooks.py PLAN AUTH_TOKEN SECONDS
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from urllib.parse import urlencode, urlsplit

import uvloop
import websockets
from twilio.request_validator import RequestValidator

CONCURRENCY = 64
PER_SECOND_BUDGET = 5000  # requests prepared per second of the run (more than a node takes)
DRAIN = 5.0


def _requests(plan: dict, token: str, count: int) -> list[bytes]:
    """Signed, ready-to-write HTTP/1.1 requests, one new MessageSid each."""
    url = plan["a"] + "/twilio/inbound"
    host = urlsplit(url).netloc
    validator = RequestValidator(token)
    prepared = []
    for n in range(count):
        order = plan["orders"][n % len(plan["orders"])]
        sid = f"SM{n:032d}"
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": order["phone"],
                "To": order["sender"], "Body": f"text {n}", "NumMedia": "0"}
        body = urlencode(form).encode()
        head = (f"POST /twilio/inbound HTTP/1.1\r\nHost: {host}\r\n"
                f"X-Twilio-Signature: {validator.compute_signature(url, form)}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        prepared.append(head.encode() + body)
    return prepared


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


async def main(plan_path: str, token: str, seconds: float) -> None:
    plan = json.loads(open(plan_path).read())
    requests = _requests(plan, token, int(PER_SECOND_BUDGET * seconds))
    b = plan["b"].replace("http", "ws", 1)
    relayed: Counter[str] = Counter()
    shoppers = []
    for order in plan["orders"]:
        ws = await websockets.connect(f"{b}/ws/shopper?token={order['shopper_token']}", compression=None)
        await ws.send(json.dumps({"type": "join", "order_id": order["id"]}))
        while json.loads(await ws.recv())["type"] != "joined":
            pass
        shoppers.append(ws)

    async def listen(ws) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "message" and frame["message"]["via"] == "sms":
                relayed[frame["message"]["text"]] += 1

    listeners = [asyncio.create_task(listen(ws)) for ws in shoppers]
    host, port = urlsplit(plan["a"]).hostname, urlsplit(plan["a"]).port
    statuses: Counter[int] = Counter()
    queue = iter(requests)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    deadline = time.monotonic() + seconds
    cpu_start = time.process_time()

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        for request in queue:
            if time.monotonic() >= deadline:
                break
            writer.write(request)
            statuses[await _read_response(reader)] += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - started
    accepted = statuses.get(200, 0)
    drain_until = time.monotonic() + DRAIN
    while len(relayed) < accepted and time.monotonic() < drain_until:
        await asyncio.sleep(0.05)
    print(json.dumps({
        "accepted": accepted, "statuses": {str(k): v for k, v in statuses.items()}, "seconds": elapsed,
        "relayed": len(relayed), "relayed_twice": sum(1 for n in relayed.values() if n > 1),
        "cpu": time.process_time() - cpu_start, "wall": time.monotonic() - started,
        "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }), flush=True)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in shoppers), return_exceptions=True)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
