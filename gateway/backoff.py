"""Backoff: how long to wait before the next attempt, the one formula every retry uses."""

from __future__ import annotations

import random


def backoff(attempt: int, base: float, cap: float, *, jitter: bool = True, rng: random.Random | None = None) -> float:
    """Exponential: `base * 2**attempt`, capped at `cap`. With jitter (the default), uniform
    between half of `base` and that ceiling, so many clients that failed together do not
    retry together. `attempt` counts from 0."""
    ceiling = min(cap, base * 2 ** max(0, attempt))
    if not jitter:
        return ceiling
    return (rng or random).uniform(min(base / 2, ceiling), ceiling)
