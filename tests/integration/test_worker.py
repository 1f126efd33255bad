"""The Worker: jobs run once each, failures come back later, and stopping settles work."""

import asyncio

import pytest

from gateway.jobs.base import Job
from gateway.jobs.memory import MemoryJobQueue
from gateway.jobs.worker import Doorbell, Retry, Worker

NOW = 1_000.0


def clock() -> float:
    return NOW


async def test_stopping_lets_a_job_under_way_finish_and_settle():
    queue = MemoryJobQueue()
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(job: Job) -> Retry | None:
        started.set()
        await release.wait()
        return None

    bell = Doorbell()
    worker = Worker(queue, "text", handler, bell, clock=clock)
    await queue.put(Job(id="j1", kind="text", payload=b""), NOW)
    await worker.start()
    bell.ring()
    await asyncio.wait_for(started.wait(), 5)
    closing = asyncio.create_task(worker.close(grace=5))
    release.set()
    await asyncio.wait_for(closing, 5)
    assert queue.pending("text") == 0  # done, not left leased


async def test_a_job_that_outlasts_the_grace_is_cancelled_and_left_to_its_lease():
    queue = MemoryJobQueue()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handler(job: Job) -> Retry | None:
        started.set()
        try:
            await asyncio.Event().wait()  # a provider that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise

    bell = Doorbell()
    worker = Worker(queue, "text", handler, bell, clock=clock, lease=60)
    await queue.put(Job(id="j1", kind="text", payload=b""), NOW)
    await worker.start()
    bell.ring()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(worker.close(grace=0.05), 5)
    assert cancelled.is_set()
    assert await queue.claim("text", NOW + 59, 60, 10) == []  # still leased to the stopped node
    assert [job.id for job in await queue.claim("text", NOW + 60, 60, 10)] == ["j1"]


@pytest.mark.parametrize("outcome", ["raises", "retry"])
async def test_a_failed_job_comes_back_later_with_its_attempt_counted(outcome):
    queue = MemoryJobQueue()
    ran = asyncio.Event()

    async def handler(job: Job) -> Retry | None:
        ran.set()
        if outcome == "raises":
            raise RuntimeError("the provider broke")
        return Retry(after=30, payload=b"updated")

    bell = Doorbell()
    worker = Worker(queue, "text", handler, bell, clock=clock)
    await queue.put(Job(id="j1", kind="text", payload=b"first"), NOW)
    await worker.start()
    bell.ring()
    await asyncio.wait_for(ran.wait(), 5)
    await worker.close()
    assert await queue.claim("text", NOW, 60, 10) == []  # not due yet
    [job] = await queue.claim("text", NOW + 600, 60, 10)
    assert job.attempts == 1
    assert job.payload == (b"first" if outcome == "raises" else b"updated")


class QueueWithABlip(MemoryJobQueue):
    """A queue whose first `fails` settle calls meet a Redis blip."""

    def __init__(self, fails: int) -> None:
        super().__init__()
        self.fails = fails
        self.settled = asyncio.Event()

    def _blip(self) -> None:
        if self.fails > 0:
            self.fails -= 1
            raise ConnectionError("Redis blip")

    async def retry(self, job: Job, due_at: float) -> None:
        self._blip()
        await super().retry(job, due_at)
        self.settled.set()

    async def done(self, job: Job) -> None:
        self._blip()
        await super().done(job)
        self.settled.set()


@pytest.mark.parametrize("outcome", ["done", "retry"])
async def test_a_settle_that_meets_a_blip_is_tried_again_not_left_to_the_lease(outcome):
    queue = QueueWithABlip(fails=2)

    async def handler(job: Job) -> Retry | None:
        return None if outcome == "done" else Retry(after=30)

    bell = Doorbell()
    worker = Worker(queue, "text", handler, bell, clock=clock, lease=60)
    await queue.put(Job(id="j1", kind="text", payload=b""), NOW)
    await worker.start()
    bell.ring()

    await asyncio.wait_for(queue.settled.wait(), 5)  # the lease is 60 s
    await worker.close()
    due = [job.id for job in await queue.claim("text", NOW + 30, 60, 10)]
    # done: gone for good; retry: due again after its 30 s, not after the 60 s lease
    assert due == ([] if outcome == "done" else ["j1"])
