"""Order lifecycle (contract section 4): events move an order forward only, repeats and late
events change nothing, final statuses stay final, and chat state follows the status."""

from __future__ import annotations

import itertools

import pytest

from gateway.policy.lifecycle import (
    EVENT_NAMES,
    ChatState,
    Communications,
    Status,
    Transition,
    Workflow,
    chat_state,
    invalid_event_reason,
    on_event,
)

# The contract's order of statuses; delivered and canceled are both final.
ORDER = ["brand_new", "acknowledged", "picking", "checkout", "staged", "delivering"]
FINALS = ["delivered", "canceled"]
NOT_FINAL = [Status(name) for name in ORDER]


def contract_rank(status: str) -> int:
    return len(ORDER) if status in FINALS else ORDER.index(status)


@pytest.mark.parametrize(
    ("current", "event", "expected"),
    [
        ("brand_new", "acknowledged", "acknowledged"),
        ("brand_new", "picking", "picking"),
        ("brand_new", "delivered", "delivered"),  # skipping ahead is fine
        ("acknowledged", "picking", "picking"),
        ("picking", "checkout", "checkout"),
        ("checkout", "staged", "staged"),
        ("staged", "delivering", "delivering"),
        ("delivering", "delivered", "delivered"),
        ("picking", "canceled", "canceled"),
        ("brand_new", "canceled", "canceled"),
        ("staged", "delivered", "delivered"),  # pickup: handed over at the store
    ],
)
def test_forward_event_moves_the_order(current, event, expected):
    assert on_event(Status(current), set(), "e1", event) == Transition(applied=True, status=Status(expected))


@pytest.mark.parametrize(
    ("current", "event"),
    [
        ("acknowledged", "acknowledged"),
        ("acknowledged", "brand_new"),
        ("picking", "picking"),
        ("picking", "acknowledged"),
        ("checkout", "picking"),
        ("delivering", "staged"),
        ("delivering", "brand_new"),
        ("staged", "checkout"),
    ],
)
def test_equal_or_lower_event_is_not_applied(current, event):
    transition = on_event(Status(current), set(), "e1", event)
    assert transition.applied is False
    assert transition.status is Status(current)


@pytest.mark.parametrize(
    ("current", "event"), list(itertools.product(Status, EVENT_NAMES)), ids=str
)
def test_every_pair_follows_the_contract_ranks(current, event):
    transition = on_event(current, set(), "e1", event)
    if current.value in FINALS:
        expected = (False, current)
    elif event == "rescheduled":
        expected = (True, Status.ACKNOWLEDGED)
    elif contract_rank(event) > contract_rank(current.value):
        expected = (True, Status(event))
    else:
        expected = (False, current)
    assert (transition.applied, transition.status) == expected


@pytest.mark.parametrize("current", list(Status), ids=str)
@pytest.mark.parametrize("event", ["acknowledged", "picking", "delivered", "canceled", "rescheduled"])
def test_repeated_event_id_changes_nothing(current, event):
    transition = on_event(current, {"e0", "e1"}, "e1", event)
    assert transition.applied is False
    assert transition.status is current
    assert transition.repeated is True  # so the caller does not record it again either


@pytest.mark.parametrize("current", FINALS)
@pytest.mark.parametrize("event", EVENT_NAMES)
def test_final_status_never_moves(current, event):
    transition = on_event(Status(current), set(), "late", event)
    assert transition.applied is False
    assert transition.status is Status(current)


def test_rescheduled_after_delivered_does_not_reopen_chat():
    transition = on_event(Status.DELIVERED, {"e1"}, "e2", "rescheduled")
    assert transition.status is Status.DELIVERED
    chat = chat_state(Workflow.DELIVERY, Communications.PLATFORM, transition.status)
    assert chat is ChatState.CLOSED


@pytest.mark.parametrize("current", NOT_FINAL, ids=str)
def test_rescheduled_returns_any_open_order_to_acknowledged(current):
    transition = on_event(current, set(), "r1", "rescheduled")
    assert transition == Transition(applied=True, status=Status.ACKNOWLEDGED)


def test_an_order_moves_forward_again_after_rescheduled():
    rescheduled = on_event(Status.DELIVERING, {"e1"}, "r1", "rescheduled")
    again = on_event(rescheduled.status, {"e1", "r1"}, "e2", "picking")
    assert again == Transition(applied=True, status=Status.PICKING)


@pytest.mark.parametrize("workflow", list(Workflow), ids=str)
@pytest.mark.parametrize("event", EVENT_NAMES)
def test_every_contract_event_is_valid_except_picking_for_last_mile(workflow, event):
    reason = invalid_event_reason(workflow, event)
    if workflow is Workflow.LAST_MILE and event == "picking":
        assert reason is not None
        assert "picking" in reason and "last_mile" in reason
    else:
        assert reason is None


def test_contract_event_vocabulary():
    assert set(EVENT_NAMES) == {*ORDER, *FINALS, "rescheduled"}


@pytest.mark.parametrize("name", ["", "shipped", "PICKING", "fulfillment.picking", " picking", "cancelled"])
def test_unknown_event_name_is_invalid_and_the_reason_says_what_was_expected(name):
    reason = invalid_event_reason(Workflow.DELIVERY, name)
    assert reason is not None
    assert repr(name) in reason  # what arrived
    assert "brand_new" in reason and "rescheduled" in reason  # what was expected


CHAT_WITH_PLATFORM = {
    "brand_new": "not_started",
    "acknowledged": "not_started",
    "picking": "open",
    "checkout": "open",
    "staged": "open",
    "delivering": "open",
    "delivered": "closed",
    "canceled": "closed",
}


@pytest.mark.parametrize(
    ("workflow", "communications", "status"),
    list(itertools.product(Workflow, Communications, Status)),
    ids=str,
)
def test_chat_state_follows_the_contract_table(workflow, communications, status):
    if workflow is Workflow.LAST_MILE or communications is Communications.RETAILER:
        expected = "unavailable"
    else:
        expected = CHAT_WITH_PLATFORM[status.value]
    assert chat_state(workflow, communications, status) is ChatState(expected)
