"""The JobQueue seam: work that must happen even if the node that accepted it dies."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Job(msgspec.Struct, frozen=True):
    id: str  # unique; putting an id already queued replaces it
    kind: str  # which handler runs it: "text", "callback"
    payload: bytes  # the producer's encoding
    attempts: int = 0  # how many times a handler has run it
    first_at: float = 0.0  # when it was first put (retry budgets count from here)


class JobQueue(Protocol):
    """Durable, delayed, at-least-once jobs, shared by every node of one backend.

    - `claim` hands out jobs that are due, each leased until now + lease: a job neither
      `done` nor `retry`-ed before its lease ends (its node died) is claimed again.
    - `retry` puts the job back, due at `due_at`, with what the handler updated.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, job: Job, due_at: float) -> None: ...

    async def offer(self, job: Job, due_at: float) -> None:
        """`put`, unless a job with this id is queued (leased or not): it stays as it is."""
        ...

    async def claim(self, kind: str, now: float, lease: float, limit: int) -> list[Job]: ...

    async def depth(self, kind: str) -> int:
        """How many jobs of this kind wait or run (for /metrics)."""
        ...

    async def retry(self, job: Job, due_at: float) -> None: ...

    async def done(self, job: Job) -> None: ...
