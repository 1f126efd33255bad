"""make bench, cluster mode: the same open-loop chat workload on a Redis Cluster of 1, 2 and 3
shards (primaries, no replicas), with 1 and 2 gateway nodes, to show how throughput grows
with shards and with nodes.

Each run offers chat at a fixed total rate whatever the servers do (bench/loadgen.py), on
200 orders whose slots spread over the shards; it reports what was delivered per second,
send -> delivery latency, and the CPU of every node and every shard. With one node, shopper
and customer are on that node; with two, every message crosses from node A to node B.

    make bench-cluster        (python bench/cluster.py [--rates 500,1000,2000] [--seconds 10]
                               [--shards 1,2,3] [--nodes 1,2] [--orders 200])

Read the table against the machine: on a box with few cores the gateway nodes, the shards and
the load generators share them, so adding shards adds no CPU for anyone and throughput stays
flat; the cluster's gain shows where each shard and node has cores of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from procs import ROOT, gateway_node, raise_file_limit
from run import _config, _latency, _ms, _plan, _window, start_child  # the chat bench's workload

sys.path.insert(0, str(ROOT / "tests"))  # the suite's cluster launcher
from support.redis_cluster import RedisCluster  # noqa: E402


async def _run(plan: Path, watched: dict[str, int], rate: int, seconds: float, generators: int, tag: str) -> dict:
    children = [
        await start_child(f"gen{n}", "loadgen.py", str(plan), str(n), str(generators), str(rate / generators),
                          str(seconds), tag)
        for n in range(generators)
    ]
    results, costs = await _window(children, watched, seconds)
    latencies = [x for result in results for x in result["latencies"]]
    sent = sum(r["sent"] for r in results)
    errors: dict[str, int] = {}
    for result in results:
        for code, count in result["outcomes"].items():
            if code != "ack":
                errors[code] = errors.get(code, 0) + count
    wall = max(r["send_seconds"] for r in results)
    return {"sent": sent, "delivered": len(latencies), "per_s": len(latencies) / max(wall, 1e-9),
            "errors": errors, **_latency(latencies), "lag_p99": max(r["lag_p99"] for r in results), "costs": costs}


async def _shards(count: int, args, directory: Path, rows: list, warnings: list[str]) -> None:
    cluster = RedisCluster(directory, appendonly=False, primaries=count, replicas=0)
    cluster.start()
    try:
        shards = {f"shard{n}": node.pid for n, node in enumerate(cluster.primaries())}
        config = _config(directory / "bench.toml", cluster.url)
        config.write_text(config.read_text().replace("[gateway]\n", "[gateway]\nredis_cluster = true\n", 1))
        for nodes in args.nodes:
            async with AsyncExitStack() as stack:
                a, a_pid, a_log = await stack.enter_async_context(gateway_node(config, "A", args.python))
                logs = [a_log]
                watched = {"A": a_pid, **shards}
                b = a
                if nodes == 2:
                    b, b_pid, b_log = await stack.enter_async_context(gateway_node(config, "B", args.python))
                    watched["B"] = b_pid
                    logs.append(b_log)
                plan = await _plan(a, b, args.orders, directory / f"plan-{nodes}.json")
                for rate in args.rates:
                    run = await _run(plan, watched, rate, args.seconds, args.generators, f"s{count}n{nodes}r{rate}")
                    rows.append((count, nodes, rate, run))
                    print(f"{count} shards, {nodes} nodes, {rate} msg/s: delivered {run['per_s']:.0f}/s "
                          f"p50 {run['p50']:.2f} p99 {run['p99']:.2f} errors {_errors(run['errors'])}",
                          file=sys.stderr, flush=True)
                warnings.extend(line.decode().strip() for log in logs for line in log if b"WARNING" in line or b"ERROR" in line)
    finally:
        cluster.stop()


def _errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{code} {count}" for code, count in sorted(errors.items())) or "none"


def _report(rows: list, args) -> str:
    lines = [
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, {args.orders} orders, "
        f"{args.seconds:g} s per run, {args.generators} load-generator processes; Redis Cluster, no replicas",
        "",
        "| shards | nodes | offered msg/s | delivered msg/s | delivered | p50 ms | p99 ms | errors "
        "| CPU % nodes | CPU % per shard | gen lag p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for shards, nodes, rate, run in rows:
        costs = run["costs"]
        node_cpu = " / ".join(f"{costs[name]['cpu']:.0f}" for name in ("A", "B") if name in costs)
        shard_cpu = " / ".join(f"{cost['cpu']:.0f}" for name, cost in costs.items() if name.startswith("shard"))
        lines.append(
            f"| {shards} | {nodes} | {rate:,} | {run['per_s']:,.0f} | {100 * run['delivered'] / max(1, run['sent']):.1f} % "
            f"| {_ms(run['p50'])} | {_ms(run['p99'])} | {_errors(run['errors'])} | {node_cpu} | {shard_cpu} | {_ms(run['lag_p99'])} |"
        )
    return "\n".join(lines)


async def main(args) -> None:
    raise_file_limit()
    rows: list = []
    warnings: list[str] = []
    for count in args.shards:
        with tempfile.TemporaryDirectory() as tmp:
            await _shards(count, args, Path(tmp), rows, warnings)
    print(_report(rows, args))
    if warnings:
        print(f"\nnode warnings ({len(warnings)}), the first few:")
        for line in warnings[:6]:
            print(f"  {line[:300]}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="500,1000,2000", help="comma-separated offered msg/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--shards", default="1,2,3", help="comma-separated shard counts")
    parser.add_argument("--nodes", default="1,2", help="comma-separated gateway node counts (1 or 2)")
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--generators", type=int, default=2, help="load-generator processes")
    parser.add_argument("--python", default=sys.executable, help="the Python whose installed gateway the nodes run")
    args = parser.parse_args()
    for name in ("rates", "shards", "nodes"):
        setattr(args, name, [int(n) for n in getattr(args, name).split(",") if n])
    return args


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
