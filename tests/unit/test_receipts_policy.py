"""SMS receipts (contract section 5): Twilio's status callbacks arrive late and out of order; a
text's state only moves forward and a final state stays."""

from __future__ import annotations

import pytest

from gateway.policy.receipts import SMSState, advances, predecessors

STATES = list(SMSState)

FINAL = ["delivered", "undelivered", "failed", "not_sent", "read_on_page"]


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, "queued", True),
        (None, "sent", True),
        (None, "delivered", True),
        (None, "failed", True),
        (None, "not_sent", True),
        ("queued", "sent", True),
        ("queued", "delivered", True),
        ("queued", "undelivered", True),
        ("queued", "failed", True),
        ("queued", "not_sent", True),
        ("sent", "delivered", True),
        ("sent", "undelivered", True),
        ("sent", "failed", True),
        ("queued", "queued", False),
        ("sent", "sent", False),
        ("sent", "queued", False),  # a late "queued" after "sent"
    ],
)
def test_state_moves_forward_only(current, new, expected):
    assert advances(current, new) is expected


@pytest.mark.parametrize("current", FINAL)
@pytest.mark.parametrize("new", STATES)
def test_final_state_stays(current, new):
    assert advances(current, new) is False


def test_contract_vocabulary():
    assert set(STATES) == {
        "held", "queued", "sent", "delivered", "undelivered", "failed", "not_sent", "read_on_page",
    }


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, "held", True),
        ("held", "queued", True),  # the window ended, or the customer looked away
        ("held", "read_on_page", True),
        ("held", "not_sent", True),  # consent withdrawn during the hold
        ("held", "delivered", True),
        ("queued", "held", False),  # a text under way is never held again
        ("read_on_page", "queued", False),  # read on the page: never texted
        ("read_on_page", "delivered", False),
    ],
)
def test_a_held_text_moves_on_once(current, new, expected):
    assert advances(current, new) is expected


@pytest.mark.parametrize("callbacks", [
    ["sent", "queued", "delivered", "sent"],
    ["delivered", "sent", "queued"],
    ["queued", "sent", "delivered"],
])
def test_out_of_order_callbacks_end_delivered(callbacks):
    state = None
    for status in callbacks:
        if advances(state, status):
            state = status
    assert state == "delivered"


@pytest.mark.parametrize("new", STATES)
def test_predecessors_are_exactly_the_states_a_text_may_advance_from(new):
    for current in (None, *STATES):
        assert (current in predecessors(new)) is advances(current, new)
