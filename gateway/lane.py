"""Lane: work handled one item at a time, in order, by a task that exists only while there is
work. A socket has two (what it read, what it writes), and an idle socket holds neither a
task nor a queue."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lane(Generic[T]):
    """`handle` runs on each item put, in order, never two at once. It returns False to stop
    the lane: what is left is dropped, and later puts are refused."""

    __slots__ = ("_handle", "_items", "_task", "_limit", "stopped")

    def __init__(self, handle: Callable[[T], Awaitable[bool | None]], limit: int) -> None:
        self._handle = handle
        self._limit = limit
        self._items: deque[T] | None = None
        self._task: asyncio.Task | None = None
        self.stopped = False

    def __len__(self) -> int:
        return 0 if self._items is None else len(self._items)

    def put(self, item: T) -> bool:
        """Queues `item`; False (and nothing queued) when the lane is full or stopped."""
        if self.stopped:
            return False
        if self._items is None:
            self._items = deque()
        elif len(self._items) >= self._limit:
            return False
        self._items.append(item)
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return True

    async def _run(self) -> None:
        items = self._items
        try:
            while items and not self.stopped:
                if await self._handle(items.popleft()) is False:
                    self.stopped = True
        finally:
            self._task = self._items = None  # the next put starts both again

    async def stop(self, *, finish_current: bool) -> None:
        """Stops the lane: the item being handled finishes (`finish_current`) or is cancelled;
        the rest are dropped."""
        self.stopped = True
        task = self._task
        if task is None:
            return
        if not finish_current:
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
