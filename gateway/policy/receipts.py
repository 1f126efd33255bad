"""SMS state of a text: it only moves forward, and a final state stays."""

from __future__ import annotations

_RANK = {"queued": 0, "sending": 0, "accepted": 0, "sent": 1, "delivered": 2}
FINAL = frozenset({"delivered", "undelivered", "failed", "not_sent"})
STATES = ("queued", "sent", "delivered", "undelivered", "failed", "not_sent")


def normalize(provider_status: str) -> str | None:
    """Twilio's MessageStatus in the contract's vocabulary (None: not one we report)."""
    status = provider_status.strip().lower()
    if status in ("accepted", "scheduled", "sending", "queued"):
        return "queued"
    if status in ("sent", "delivered", "undelivered", "failed"):
        return status
    if status in ("canceled",):
        return "failed"
    return None


def advances(current: str | None, new: str) -> bool:
    """Whether a text in state `current` (None: no state yet) moves to `new`."""
    if current is None:
        return True
    if current in FINAL:
        return False
    if new in FINAL:
        return True
    return _RANK.get(new, -1) > _RANK.get(current, -1)


def predecessors(new: str) -> frozenset[str | None]:
    """The states (None: no state yet) a text may move to `new` from: `advances` as a set,
    for a store that checks it atomically next to the data."""
    return frozenset(state for state in (None, *STATES, *_RANK) if advances(state, new))
