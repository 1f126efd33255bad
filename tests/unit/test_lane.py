"""A Lane handles its items in order, one at a time, with a task only while it has items."""

from __future__ import annotations

import asyncio

from gateway.lane import Lane


async def test_items_are_handled_in_order_and_the_task_ends_when_the_lane_is_empty() -> None:
    seen: list[int] = []
    done = asyncio.Event()

    async def handle(item: int) -> None:
        seen.append(item)
        if item == 3:
            done.set()

    lane: Lane[int] = Lane(handle, limit=10)
    assert all(lane.put(n) for n in (1, 2, 3))
    await asyncio.wait_for(done.wait(), 5)
    await lane.stop(finish_current=True)  # returns at once: the task has ended with the items
    assert seen == [1, 2, 3]
    assert len(lane) == 0 and lane._task is None


async def test_a_full_lane_refuses_and_a_stopped_one_drops_the_rest() -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    seen: list[str] = []

    async def handle(item: str) -> bool | None:
        started.set()
        await release.wait()
        seen.append(item)
        return False if item == "stop" else None

    lane: Lane[str] = Lane(handle, limit=2)
    assert lane.put("stop")
    await asyncio.wait_for(started.wait(), 5)  # "stop" is under way; the lane holds the rest
    assert lane.put("a") and lane.put("b")
    assert not lane.put("c")  # full
    release.set()
    await lane.stop(finish_current=True)
    assert seen == ["stop"] and not lane.put("d")
