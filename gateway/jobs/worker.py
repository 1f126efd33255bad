"""Worker: runs one kind of job from a JobQueue, with bounded concurrency and backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from prometheus_client import Counter

from gateway.backoff import backoff
from gateway.jobs.base import Job, JobQueue

log = logging.getLogger("gateway.jobs")

SETTLE_ATTEMPTS = 6  # tries at marking a job done or due again (backoff from 0.1 s to 1.6 s: ~3 s in all)


class Retry(msgspec.Struct, frozen=True):
    """What a handler returns to run the job again later (None: the job is done)."""

    after: float  # seconds
    payload: bytes | None = None  # updated payload, if it changed


Handler = Callable[[Job], Awaitable[Retry | None]]


class Doorbell:
    """Rung by whoever puts a job of one kind on this node, so that node's Worker claims it at
    once instead of at its next poll. Built before both: the producer gets `ring`, the Worker
    waits on it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:
        """Returns when rung (clearing it) or after `timeout` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            pass
        self._event.clear()


class Worker:
    """Claims due jobs of one kind and runs `handler` on each, at most `concurrency` at once.
    It polls every `poll` seconds, and at once when its doorbell rings (a job put on this
    node). A handler that raises is logged and its job retried after a backoff."""

    def __init__(
        self,
        queue: JobQueue,
        kind: str,
        handler: Handler,
        doorbell: Doorbell,
        *,
        concurrency: int = 8,
        poll: float = 0.25,
        lease: float = 60.0,
        clock: Callable[[], float] = time.time,
        retried: Counter | None = None,
    ) -> None:
        self._queue = queue
        self._retried = retried  # counts, by kind, the attempts that will run again
        self._kind = kind
        self._handler = handler
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._poll = poll
        self._lease = lease
        self._clock = clock
        self._doorbell = doorbell
        self._task: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()
        self._stopping = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"worker:{self._kind}")

    async def close(self, grace: float = 5.0) -> None:
        """Stops claiming, lets the jobs under way settle for up to `grace` seconds (a send
        already handed to the provider should finish and be recorded), then cancels the
        rest, whose leases run out so another node runs them again."""
        # The flag, not only the cancel, ends the loop: a cancel that lands as a Redis call
        # gives up (Python 3.11's wait_for, and client libraries, can swallow it) would
        # otherwise leave the loop claiming forever and the node never stopping.
        self._stopping = True
        self._doorbell.ring()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=grace)
        if self._running:
            await asyncio.wait(list(self._running), timeout=grace)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                free = self._concurrency - len(self._running)
                jobs = await self._queue.claim(self._kind, self._clock(), self._lease, free) if free else []
                failures = 0
            except (ConnectionError, OSError) as exc:
                failures += 1
                log.warning("cannot claim %s jobs (%s); retrying", self._kind, type(exc).__name__)
                jobs = []
                await asyncio.sleep(backoff(failures, 0.2, 5.0))
            for job in jobs:
                await self._slots.acquire()
                task = asyncio.create_task(self._run(job))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if jobs and len(jobs) == free:
                continue  # there may be more due right now
            await self._doorbell.wait(self._poll)

    async def _run(self, job: Job) -> None:
        try:
            attempt = msgspec.structs.replace(job, attempts=job.attempts + 1)
            try:
                outcome = await self._handler(attempt)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s job failed; will retry", self._kind)
                outcome = Retry(after=backoff(attempt.attempts, 1.0, 300.0))
            if outcome is not None and self._retried is not None:
                self._retried.labels(self._kind).inc()
            if outcome is not None and outcome.payload is not None:
                attempt = msgspec.structs.replace(attempt, payload=outcome.payload)
            await self._settle(attempt, outcome)
        finally:
            self._slots.release()

    async def _settle(self, job: Job, outcome: Retry | None) -> None:
        """Marks the job done, or due again after `outcome.after`. A queue that cannot be
        reached is tried again a few times (a Redis blip is over in seconds) rather than left
        to the job's lease: a held text re-queued every second would otherwise wait the whole
        lease. Should the queue stay away, the lease runs out and the job is claimed again."""
        for attempt in range(SETTLE_ATTEMPTS):
            try:
                if outcome is None:
                    await self._queue.done(job)
                else:
                    await self._queue.retry(job, self._clock() + outcome.after)
                return
            except (ConnectionError, OSError) as exc:
                if attempt + 1 < SETTLE_ATTEMPTS and not self._stopping:
                    await asyncio.sleep(backoff(attempt, 0.1, 2.0))
                    continue
                log.warning(
                    "cannot settle %s job (%s); its lease will expire and it will run again", self._kind, type(exc).__name__
                )
                return
