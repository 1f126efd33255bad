"""How every Redis-backed part connects: one set of client options, and one way of turning
"Redis cannot be reached" into the part's own unavailable error."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

T = TypeVar("T")
P = ParamSpec("P")


def options() -> dict[str, Any]:
    """No automatic retries: a retried append or publish whose reply was lost would run
    twice. The pool still replaces connections that died while idle (a Redis restart)."""
    return {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 2.0}


def client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_timeout=5.0, **options())


class SharedClient:
    """The one command client a node's Redis parts share (store, chat log, jobs, broker
    publishes), as a part the app starts and closes after them."""

    def __init__(self, url: str) -> None:
        self.redis = client(url)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        await self.redis.aclose()


def unreachable_as(
    error: Callable[[str], Exception],
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """A decorator raising `error` when Redis cannot be reached (down, timing out, or still
    loading its data: BusyLoadingError is a ConnectionError too)."""

    def decorate(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await method(*args, **kwargs)
            except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
                raise error(f"expected Redis to answer, got {type(exc).__name__}: {exc}") from exc

        return wrapper

    return decorate
