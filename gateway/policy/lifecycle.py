"""Order lifecycle rules: which events exist, how statuses rank, what chat state follows."""

from __future__ import annotations

from collections.abc import Container
from enum import StrEnum

import msgspec


class Workflow(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"
    LAST_MILE = "last_mile"


class Communications(StrEnum):
    PLATFORM = "platform"  # the gateway texts customers and relays chat
    RETAILER = "retailer"  # the retailer does its own messaging; callbacks only


class Status(StrEnum):
    BRAND_NEW = "brand_new"
    ACKNOWLEDGED = "acknowledged"
    PICKING = "picking"
    CHECKOUT = "checkout"
    STAGED = "staged"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    CANCELED = "canceled"


class ChatState(StrEnum):
    NOT_STARTED = "not_started"
    OPEN = "open"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"


RESCHEDULED = "rescheduled"
EVENT_NAMES: tuple[str, ...] = (*(s.value for s in Status), RESCHEDULED)

_RANK = {
    Status.BRAND_NEW: 0,
    Status.ACKNOWLEDGED: 1,
    Status.PICKING: 2,
    Status.CHECKOUT: 3,
    Status.STAGED: 4,
    Status.DELIVERING: 5,
    Status.DELIVERED: 6,
    Status.CANCELED: 6,
}
FINAL = frozenset({Status.DELIVERED, Status.CANCELED})
_CHAT_OPEN = frozenset({Status.PICKING, Status.CHECKOUT, Status.STAGED, Status.DELIVERING})


class Transition(msgspec.Struct, frozen=True):
    applied: bool
    status: Status
    repeated: bool = False  # an event id seen before: not even recorded again


def invalid_event_reason(workflow: Workflow, event_name: str) -> str | None:
    """Why an event cannot be posted for this workflow at all, or None when it can."""
    if event_name not in EVENT_NAMES:
        return f"expected one of {', '.join(EVENT_NAMES)}, got {event_name!r}"
    if workflow is Workflow.LAST_MILE and event_name == Status.PICKING:
        return "picking is not an event of the last_mile workflow"
    return None


def on_event(current: Status, seen: Container[str], event_id: str, event_name: str) -> Transition:
    """Where an order goes on an event. Events repeat and arrive out of order: a repeated id,
    a lower or equal rank, or anything after a final status leaves the order where it is.
    `rescheduled` returns an order that is not final to `acknowledged`."""
    if event_id in seen:
        return Transition(applied=False, status=current, repeated=True)
    if current in FINAL:
        return Transition(applied=False, status=current)
    if event_name == RESCHEDULED:
        return Transition(applied=True, status=Status.ACKNOWLEDGED)
    target = Status(event_name)
    if _RANK[target] <= _RANK[current]:
        return Transition(applied=False, status=current)
    return Transition(applied=True, status=target)


def chat_state(workflow: Workflow, communications: Communications, status: Status) -> ChatState:
    if workflow is Workflow.LAST_MILE or communications is Communications.RETAILER:
        return ChatState.UNAVAILABLE
    if status in _CHAT_OPEN:
        return ChatState.OPEN
    if status in FINAL:
        return ChatState.CLOSED
    return ChatState.NOT_STARTED
