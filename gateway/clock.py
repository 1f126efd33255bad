"""Time as the wire spells it."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float) -> str:
    """RFC 3339 in UTC with milliseconds: 2026-11-27T11:22:51.123Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """An RFC 3339 timestamp with an offset (or Z); raises ValueError otherwise."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("expected a timestamp with a time zone, e.g. 2026-11-27T11:22:51Z")
    return value
