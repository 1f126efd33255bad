"""MemoryJobQueue: the job queue of embedded mode."""

from __future__ import annotations

from gateway.jobs.base import Job


class MemoryJobQueue:
    """Jobs in this process's memory: durable only as long as the process lives, which is
    what embedded mode promises. Leases still apply, so a handler that crashed mid-job is
    retried."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[float, Job]] = {}  # id -> (due or lease end, job)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def put(self, job: Job, due_at: float) -> None:
        self._jobs[job.id] = (due_at, job)

    async def offer(self, job: Job, due_at: float) -> None:
        if job.id not in self._jobs:
            self._jobs[job.id] = (due_at, job)

    async def claim(self, kind: str, now: float, lease: float, limit: int) -> list[Job]:
        due = sorted(
            (at, job.id) for at, job in self._jobs.values() if job.kind == kind and at <= now
        )[:limit]
        claimed = []
        for _, job_id in due:
            job = self._jobs[job_id][1]
            self._jobs[job_id] = (now + lease, job)
            claimed.append(job)
        return claimed

    async def retry(self, job: Job, due_at: float) -> None:
        self._jobs[job.id] = (due_at, job)

    async def done(self, job: Job) -> None:
        self._jobs.pop(job.id, None)

    async def depth(self, kind: str) -> int:
        return self.pending(kind)

    def pending(self, kind: str) -> int:
        return sum(1 for _, job in self._jobs.values() if job.kind == kind)
