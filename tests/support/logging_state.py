"""`restored_logging`: for tests that configure logging the way `gateway serve` does, which
changes process-wide state (the root handler, uvicorn's loggers)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

TOUCHED = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore"]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    saved = {}
    for name in TOUCHED:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
