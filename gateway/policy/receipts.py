"""SMS state of a text: it only moves forward, and a final state stays."""

from __future__ import annotations

from enum import StrEnum


class SMSState(StrEnum):
    """What a shopper message's text has come to (the `sms` of a `receipt` frame)."""

    HELD = "held"  # the customer is reading the page: texted later, or never (contract section 9)
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    NOT_SENT = "not_sent"
    READ_ON_PAGE = "read_on_page"  # held, then read on the page: never texted


_RANK = {SMSState.HELD: 0, SMSState.QUEUED: 1, SMSState.SENT: 2, SMSState.DELIVERED: 3}
FINAL = frozenset(
    {SMSState.DELIVERED, SMSState.UNDELIVERED, SMSState.FAILED, SMSState.NOT_SENT, SMSState.READ_ON_PAGE}
)


def advances(current: SMSState | None, new: SMSState) -> bool:
    """Whether a text in state `current` (None: no state yet) moves to `new`."""
    if current is None:
        return True
    if current in FINAL:
        return False
    if new in FINAL:
        return True
    return _RANK[new] > _RANK[current]


def predecessors(new: SMSState) -> frozenset[SMSState | None]:
    """The states (None: no state yet) a text may move to `new` from: `advances` as a set,
    for a store that checks it atomically next to the data."""
    return frozenset(state for state in (None, *SMSState) if advances(state, new))
