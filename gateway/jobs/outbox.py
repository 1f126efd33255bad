"""The outbox: each order's debts (gateway/jobs/debts.py), written in the same atomic step as
the change that owes them (a chat message, an applied event), and drained into the job queue.

Why not put the job straight into the queue? The queue's keys are global, the order's are
under its hash tag: one Redis Cluster slot cannot hold both, so no single script could write
a message and its job. The outbox is a hash under the order's tag, so the chat log's append
script and the order store's update write it atomically with the message or the record.

How a debt is found again. Before writing a debt, the writer marks the order in a global
index (a sorted set scored by "check after": now + GRACE), in the same round trip and ahead
of the write on the same connection, so an order that owes something is always indexed. The
node that wrote the debt drains it at once (`Drainer.drain`: put the job, unless queued,
then delete the entry); should it die first, any node's Drainer finds the order in the index
once GRACE has passed, leases the entry, drains it and drops it from the index. A debt may
thus be queued twice (a node dying between the put and the delete): jobs are at least once,
and a job put while the same id is queued is not put again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from gateway.backoff import backoff
from gateway.jobs.base import Job, JobQueue
from gateway.jobs.debts import Debt

log = logging.getLogger("gateway.outbox")

GRACE = 10.0  # seconds a writer has to drain its own debts before any node's Drainer may
LEASE = 30.0  # seconds one Drainer holds an index entry it is draining


class Outbox(Protocol):
    """Reads and settles what the order store and the chat log wrote (they write debts in
    their own atomic steps, and mark the order in the index just before)."""

    async def owed(self, order_id: str) -> list[Debt]: ...

    async def settle(self, order_id: str, job_ids: Sequence[str]) -> None:
        """The debts are in the job queue now: drop them from the order's outbox."""
        ...

    async def due(self, now: float, lease: float, limit: int) -> list[tuple[str, float]]:
        """Orders marked before `now`, each leased until now + lease (its new score, returned
        with it) so other Drainers leave it alone meanwhile."""
        ...

    async def forget(self, order_id: str, score: float) -> None:
        """Unmarks the order if its mark is still `score` (nobody marked it again since)."""
        ...

    async def mark(self, order_id: str, at: float) -> None: ...


class Drainer:
    """Moves debts from outboxes to the job queue: at once for the debts this node just
    wrote, and, every `poll` seconds, for orders whose writer did not (it died)."""

    def __init__(
        self,
        outbox: Outbox,
        queue: JobQueue,
        doorbells: Mapping[str, Callable[[], None]],
        *,
        clock: Callable[[], float] = time.time,
        poll: float = 1.0,
        batch: int = 50,
    ) -> None:
        self._outbox = outbox
        self._queue = queue
        self._doorbells = doorbells
        self._clock = clock
        self._poll = poll
        self._batch = batch
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def drain(self, order_id: str, debts: Sequence[Debt] | None = None) -> None:
        """Queues `debts` (all the order owes when None) and settles them. Raises what the
        queue raises: what is not settled stays owed, and the index brings it back."""
        if debts is None:
            debts = await self._outbox.owed(order_id)
        if not debts:
            return
        now = self._clock()
        for debt in debts:
            await self._queue.offer(Job(id=debt.id, kind=debt.kind, payload=debt.payload, first_at=now), now)
        for kind in {debt.kind for debt in debts}:
            ring = self._doorbells.get(kind)
            if ring is not None:
                ring()
        await self._outbox.settle(order_id, [debt.id for debt in debts])

    async def sweep(self) -> int:
        """Drains the orders whose writers did not; returns how many it looked at."""
        due = await self._outbox.due(self._clock(), LEASE, self._batch)
        for order_id, score in due:
            await self.drain(order_id)
            await self._outbox.forget(order_id, score)
            if await self._outbox.owed(order_id):  # written after the drain: look again soon
                await self._outbox.mark(order_id, self._clock())
        return len(due)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-drainer")

    async def close(self, grace: float = 5.0) -> None:
        """Stops the loop. The flag, not only the cancel, ends it: a cancel that lands as a
        Redis call gives up can be swallowed (Python 3.11's wait_for), and a node must still
        stop. Waits `grace` seconds at most; what is left owed, the next sweep on any node
        queues."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=grace)

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                while await self.sweep() == self._batch:
                    pass  # more may be due right now
                failures = 0
                await asyncio.sleep(self._poll)
            except (ConnectionError, OSError) as exc:
                failures += 1
                log.warning("cannot drain outboxes (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff(failures, 0.2, 5.0))


class MemoryOutbox:
    """Embedded mode's outbox, shared by the memory order store and chat log."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._owed: dict[str, dict[str, Debt]] = {}
        self._index: dict[str, float] = {}

    def write(self, order_id: str, debts: Sequence[Debt]) -> None:
        """For the memory stores: the index mark and the debts, in their atomic step."""
        if not debts:
            return
        self._index[order_id] = self._clock() + GRACE
        owed = self._owed.setdefault(order_id, {})
        for debt in debts:
            owed[debt.id] = debt

    def drop(self, order_id: str) -> None:
        """The order is gone: so is what it owed."""
        self._owed.pop(order_id, None)
        self._index.pop(order_id, None)

    async def owed(self, order_id: str) -> list[Debt]:
        return list(self._owed.get(order_id, {}).values())

    async def settle(self, order_id: str, job_ids: Sequence[str]) -> None:
        owed = self._owed.get(order_id)
        if owed is None:
            return
        for job_id in job_ids:
            owed.pop(job_id, None)
        if not owed:
            del self._owed[order_id]

    async def due(self, now: float, lease: float, limit: int) -> list[tuple[str, float]]:
        due = sorted((score, order_id) for order_id, score in self._index.items() if score <= now)[:limit]
        for _, order_id in due:
            self._index[order_id] = now + lease
        return [(order_id, now + lease) for _, order_id in due]

    async def forget(self, order_id: str, score: float) -> None:
        if self._index.get(order_id) == score:
            del self._index[order_id]

    async def mark(self, order_id: str, at: float) -> None:
        self._index[order_id] = at
