"""make bench: what users feel, measured beside the floor in the same run.

- chat, open loop: 200 orders on two `gateway serve` nodes sharing one redis-server, each
  shopper on node A and its customer on node B (every message crosses nodes), chat sent at a
  fixed total rate whatever the servers do; beside it, at the same rate, the floor: raw
  Redis pub/sub between two plain processes. Reported per rate: delivered %, send ->
  delivery p50/p90/p99/max and their ratios to the floor's, errors by code, CPU of every
  process and the nodes' peak RSS, and the load generators' own lag behind schedule (if
  that grows, the figures measure the generator, not the gateway).
- idle: N customer sockets joined on one fresh node: KB of node memory per socket, and
  connects (handshake + join) per second.
- webhooks: signed inbound texts posted to node A as fast as it answers, each relayed to its
  shopper on node B: texts accepted per second, and whether each was relayed exactly once.

    python bench/run.py [--quick] [--rates 500,1000] [--seconds 10] [--idle 10000]

The machine is shared and noisy: the ratios to the floor mean more than the absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

from procs import ROOT, Child, free_port, gateway_node, raise_file_limit, start_child, stop, usage

sys.path.insert(0, str(ROOT / "tests"))  # the suite's redis-server launcher
from support.redis_server import RedisServer  # noqa: E402

OPERATOR, RETAILER, TWILIO_TOKEN = "op-bench-key-0123456789", "rk-bench-key-0123456789", "bench-twilio-token-0123456789"
SECRET = "bench-secret-of-more-than-32-characters"
SENDER = "+15005550006"
RATES = [500, 1000, 2000, 4000, 8000]


def _config(path: Path, redis_url: str) -> Path:
    path.write_text(
        f'[gateway]\nsecret = "{SECRET}"\noperator_key = "{OPERATOR}"\nredis_url = "{redis_url}"\n'
        "[limits]\nchat_per_second = 0\n"
        f'[sms]\nprovider = "twilio"\nnumbers = ["{SENDER}"]\ntwilio_account_sid = "AC{"0" * 32}"\n'
        f'twilio_auth_token = "{TWILIO_TOKEN}"\ntwilio_api_base = "http://127.0.0.1:{free_port()}"\n'
        f'[retailers.bench]\napi_key = "{RETAILER}"\n'
    )
    return path


async def _plan(a: str, b: str, orders: int, path: Path) -> Path:
    """Creates the orders (chat open, texts off: the bench measures chat, not Twilio)."""
    bearer = lambda key: {"Authorization": f"Bearer {key}"}  # noqa: E731
    tag = time.monotonic_ns()
    async with httpx.AsyncClient(base_url=a, trust_env=False, timeout=60) as http:
        slots = asyncio.Semaphore(20)

        async def one(n: int) -> dict:
            async with slots:
                order_id, phone = f"bench-{tag}-{n}", f"+1555{n:07d}"
                created = await http.post("/v1/orders", headers=bearer(RETAILER), json={
                    "id": order_id, "workflow": "delivery", "customer": {"phone": phone}, "sms_opt_in": False})
                created.raise_for_status()
                picked = await http.post(f"/v1/orders/{order_id}/events", headers=bearer(OPERATOR), json={
                    "event_id": "p", "event_name": "picking", "shopper": {"id": f"s{n}", "name": "Alex"}})
                picked.raise_for_status()
                token = (await http.post(f"/v1/shoppers/s{n}/tokens", headers=bearer(OPERATOR))).json()["token"]
                return {"id": order_id, "phone": phone, "sender": SENDER,
                        "customer_token": created.json()["customer_token"], "shopper_token": token}

        plan = {"a": a, "b": b, "orders": await asyncio.gather(*(one(n) for n in range(orders)))}
    path.write_text(json.dumps(plan))
    return path


def _pid(redis: RedisServer) -> int:
    return redis._process.pid  # the test suite's launcher keeps it private; the bench reads its CPU


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def _latency(latencies: list[float]) -> dict:
    latencies = sorted(latencies)
    return {"p50": _percentile(latencies, 0.5), "p90": _percentile(latencies, 0.9),
            "p99": _percentile(latencies, 0.99), "max": latencies[-1] if latencies else float("nan")}


async def _window(
    children: list[Child], watched: dict[str, int], seconds: float
) -> tuple[list[dict], dict[str, dict]]:
    """Starts the children together; returns their results, and the CPU % while they send
    (`seconds` from the start) and peak RSS of each watched (long-lived) process and of
    each child (its own count)."""
    await asyncio.gather(*(child.ready() for child in children))
    start = time.monotonic() + 0.3
    for child in children:
        child.go(start)
    await asyncio.sleep(start - time.monotonic())
    before = {name: usage(pid) for name, pid in watched.items()}
    await asyncio.sleep(seconds)
    during = {name: usage(pid) for name, pid in watched.items()}
    results = await asyncio.gather(*(child.result() for child in children))
    costs = {}
    for name, pid in watched.items():
        after = usage(pid)
        cpu = 100 * (during[name].cpu - before[name].cpu) / seconds
        costs[name] = {"cpu": cpu, "peak_mb": after.peak_kb / 1024}
    for child, result in zip(children, results):
        costs[child.name] = {"cpu": 100 * result["cpu"] / max(result["wall"], 1e-9), "peak_mb": result["peak_kb"] / 1024}
    for child in children:
        await stop(child.process)
    return results, costs


async def floor(redis: RedisServer, rate: int, seconds: float, channels: int) -> dict:
    args = (redis.url, str(channels), str(rate), str(seconds))
    sub = await start_child("floor-sub", "floor.py", "sub", *args)
    pub = await start_child("floor-pub", "floor.py", "pub", *args)
    # The subscriber says ready once subscribed, and no child goes before all are ready.
    (received, published), costs = await _window([sub, pub], {"redis": _pid(redis)}, seconds)
    sent = published["sent"]
    return {"sent": sent, "delivered": len(received["latencies"]), **_latency(received["latencies"]),
            "lag_p99": published["lag_p99"], "costs": costs}


async def chat(plan: Path, nodes: dict[str, int], redis: RedisServer, rate: int, seconds: float,
               generators: int, tag: str) -> dict:
    children = [
        await start_child(f"gen{n}", "loadgen.py", str(plan), str(n), str(generators), str(rate / generators),
                          str(seconds), tag)
        for n in range(generators)
    ]
    results, costs = await _window(children, {**nodes, "redis": _pid(redis)}, seconds)
    outcomes: dict[str, int] = {}
    for result in results:
        for code, count in result["outcomes"].items():
            outcomes[code] = outcomes.get(code, 0) + count
    latencies = [x for result in results for x in result["latencies"]]
    sent = sum(r["sent"] for r in results)
    if sent > sum(outcomes.values()):
        outcomes["unanswered"] = sent - sum(outcomes.values())  # within 5 s of the last send
    return {"sent": sent, "delivered": len(latencies), "outcomes": outcomes,
            **_latency(latencies), "lag_p99": max(r["lag_p99"] for r in results),
            "lag_max": max(r["lag_max"] for r in results), "costs": costs}


async def idle(plan: Path, config: Path, sockets: int, python: str) -> dict:
    async with gateway_node(config, "idle", python) as (url, pid, _):
        data = json.loads(plan.read_text())
        data["a"] = url
        idle_plan = plan.with_name("idle-plan.json")
        idle_plan.write_text(json.dumps(data))
        child = await start_child("idle", "idle.py", str(idle_plan), str(sockets))
        await child.ready()
        async with httpx.AsyncClient(trust_env=False) as http:
            await http.get(f"{url}/healthz")  # warm: the first request's imports are not sockets
        before = usage(pid)
        child.go(0)
        opened = await child.result(timeout=600)
        after = usage(pid)
        child.go(0)
        await stop(child.process)
    return {**opened, "kb_per_socket": (after.rss_kb - before.rss_kb) / max(1, opened["open"]),
            "connects_per_s": opened["open"] / opened["seconds"], "node_rss_mb": after.rss_kb / 1024,
            "node_cpu": 100 * (after.cpu - before.cpu) / opened["seconds"]}


async def webhooks(plan: Path, nodes: dict[str, int], redis: RedisServer, seconds: float) -> dict:
    child = await start_child("webhooks", "webhooks.py", str(plan), TWILIO_TOKEN, str(seconds))
    (result,), costs = await _window([child], {**nodes, "redis": _pid(redis)}, seconds)
    return {**result, "per_s": result["accepted"] / result["seconds"], "costs": costs}


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def _report(rows: list[tuple[int, dict, dict]], idle_result: dict | None, hooks: dict | None, args) -> str:
    lines = [
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.orders} orders, shopper on node A, customer on node B, {args.seconds:g} s per rate, "
        f"{args.generators} load-generator processes",
        "",
        "| rate msg/s | run | delivered | p50 ms | p90 ms | p99 ms | max ms | p50 / floor | p99 / floor "
        "| errors | CPU % A / B / redis / gens | peak RSS MB A / B / gen | gen lag p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rate, base, run in rows:
        for name, row in (("floor", base), ("gateway", run)):
            costs = row["costs"]
            delivered = 100 * row["delivered"] / max(1, row["sent"])
            if name == "floor":
                cpu = f"- / - / {costs['redis']['cpu']:.0f} / {costs['floor-pub']['cpu'] + costs['floor-sub']['cpu']:.0f}"
                ratios, errors, rss = "1", "-", "-"
                ratio99 = "1"
            else:
                gens = sum(c["cpu"] for k, c in costs.items() if k.startswith("gen"))
                cpu = f"{costs['A']['cpu']:.0f} / {costs['B']['cpu']:.0f} / {costs['redis']['cpu']:.0f} / {gens:.0f}"
                ratios = f"{row['p50'] / base['p50']:.1f}x"
                ratio99 = f"{row['p99'] / base['p99']:.1f}x"
                errors = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()) if k != "ack") or "none"
                gen_rss = max(c["peak_mb"] for k, c in costs.items() if k.startswith("gen"))
                rss = f"{costs['A']['peak_mb']:.0f} / {costs['B']['peak_mb']:.0f} / {gen_rss:.0f}"
            lines.append(
                f"| {rate:,} | {name} | {delivered:.1f} % | {_ms(row['p50'])} | {_ms(row['p90'])} | {_ms(row['p99'])} "
                f"| {_ms(row['max'])} | {ratios} | {ratio99} | {errors} | {cpu} | {rss} | {_ms(row['lag_p99'])} |"
            )
    if idle_result:
        lines += ["", f"idle: {idle_result['open']:,} customer sockets joined on one node "
                      f"({idle_result['failed']} failed): {idle_result['kb_per_socket']:.1f} KB of node memory per "
                      f"socket, {idle_result['connects_per_s']:,.0f} connects/s (handshake + join, 200 at a time; node CPU "
                      f"{idle_result['node_cpu']:.0f} %, client CPU {idle_result['client_cpu']:.0f} %)"]
        if idle_result["first_failure"]:
            lines.append(f"  first failure: {idle_result['first_failure'][0]}")
    if hooks:
        lines += ["", f"webhooks: {hooks['per_s']:,.0f} signed inbound texts/s accepted by node A "
                      f"(statuses {hooks['statuses']}), {hooks['relayed']:,} of {hooks['accepted']:,} relayed to "
                      f"their shopper on node B, {hooks['relayed_twice']} twice; node A CPU "
                      f"{hooks['costs']['A']['cpu']:.0f} %"]
    return "\n".join(lines)


async def main(args) -> None:
    raise_file_limit()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "redis").mkdir()
        redis = RedisServer(directory / "redis", appendonly=False)
        redis.start()
        try:
            config = _config(directory / "bench.toml", redis.url)
            async with AsyncExitStack() as stack:
                a, a_pid, a_log = await stack.enter_async_context(gateway_node(config, "A", args.python))
                b, b_pid, b_log = await stack.enter_async_context(gateway_node(config, "B", args.python))
                nodes = {"A": a_pid, "B": b_pid}
                print(f"node A pid {a_pid}, node B pid {b_pid} (py-spy record -p PID)", file=sys.stderr, flush=True)
                plan = await _plan(a, b, args.orders, directory / "plan.json")
                for rate in args.rates:
                    base = await floor(redis, rate, args.seconds, args.orders)
                    run = await chat(plan, nodes, redis, rate, args.seconds, args.generators, f"r{rate}")
                    rows.append((rate, base, run))
                    print(f"rate {rate}: floor p50 {base['p50']:.2f} p99 {base['p99']:.2f}; gateway delivered "
                          f"{run['delivered']}/{run['sent']} p50 {run['p50']:.2f} p99 {run['p99']:.2f} "
                          f"{run['outcomes']}", file=sys.stderr, flush=True)
                hooks = await webhooks(plan, nodes, redis, args.seconds) if args.webhooks else None
                warnings = [line.decode().strip() for line in a_log + b_log if b"WARNING" in line or b"ERROR" in line]
            idle_result = await idle(plan, config, args.idle, args.python) if args.idle else None
        finally:
            redis.stop()
    print(_report(rows, idle_result, hooks, args))
    if warnings:
        print(f"\nnode warnings ({len(warnings)}), the first few:")
        for line in warnings[:6]:
            print(f"  {line[:300]}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s per rate, 500/1000/2000, 2,000 idle sockets")
    parser.add_argument("--rates", help="comma-separated msg/s (default 500,1000,2000,4000,8000)")
    parser.add_argument("--seconds", type=float, help="per rate (default 10)")
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--generators", type=int, default=2, help="load-generator processes")
    parser.add_argument("--idle", type=int, help="idle sockets (default 10,000; 0 skips)")
    parser.add_argument("--no-webhooks", dest="webhooks", action="store_false")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python whose installed gateway the nodes run (compare another build)")
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",") if r] if args.rates is not None else ([500, 1000, 2000] if args.quick else RATES)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.idle = args.idle if args.idle is not None else (2000 if args.quick else 10_000)
    args.python = os.path.abspath(shutil.which(args.python) or args.python)  # nodes run elsewhere
    return args


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
