"""Chat rules (contract sections 5 and 6): who joins, when a message may be sent, how long it may
be, how fast, and what an inbound text does."""

from __future__ import annotations

import itertools

import pytest

from gateway.policy.chat import (
    Bucket,
    ErrorCode,
    InboundAction,
    InboundDecision,
    Role,
    may_join,
    media_error,
    on_inbound_sms,
    send_error,
    take,
    text_error,
)
from gateway.policy.consent import Keyword
from gateway.policy.lifecycle import ChatState


@pytest.mark.parametrize(
    ("role", "subject", "order_id", "order_shopper_id", "expected"),
    [
        (Role.CUSTOMER, "o1", "o1", None, True),
        (Role.CUSTOMER, "o1", "o1", "s1", True),
        (Role.CUSTOMER, "o2", "o1", "s1", False),  # another order's customer
        (Role.CUSTOMER, "s1", "o1", "s1", False),  # a customer token naming the shopper's id
        (Role.SHOPPER, "s1", "o1", "s1", True),
        (Role.SHOPPER, "s2", "o1", "s1", False),  # another shopper
        (Role.SHOPPER, "s1", "o1", None, False),  # nobody assigned yet
        (Role.SHOPPER, "o1", "o1", None, False),  # a shopper id equal to the order id
        (Role.SHOPPER, "", "o1", None, False),
    ],
)
def test_may_join(role, subject, order_id, order_shopper_id, expected):
    assert may_join(role, subject, order_id, order_shopper_id) is expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (ChatState.NOT_STARTED, ErrorCode.CHAT_NOT_OPEN),
        (ChatState.OPEN, None),
        (ChatState.CLOSED, ErrorCode.CHAT_CLOSED),
        (ChatState.UNAVAILABLE, ErrorCode.CHAT_UNAVAILABLE),
    ],
)
def test_send_error_per_chat_state(state, expected):
    assert send_error(state) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ErrorCode.BAD_FRAME),
        (" ", ErrorCode.BAD_FRAME),
        ("\n\t \r\n", ErrorCode.BAD_FRAME),
        ("a", None),
        (" a ", None),
        ("a" * 1000, None),
        ("😀" * 1000, None),  # characters, not bytes
        ("a" * 1001, ErrorCode.TOO_LONG),
        ("😀" * 1001, ErrorCode.TOO_LONG),
    ],
    ids=lambda value: f"{len(value)}chars" if isinstance(value, str) else str(value),
)
def test_text_error(text, expected):
    assert text_error(text) == expected


@pytest.mark.parametrize(
    ("text", "photos", "expected"),
    [
        ("", 1, None),  # a photo alone is a message
        (" \n", 3, None),
        ("Is this the right one?", 2, None),
        ("a" * 1000, 1, None),
        ("a" * 1001, 1, ErrorCode.TOO_LONG),
        ("", 0, ErrorCode.BAD_FRAME),
    ],
)
def test_text_error_with_photos(text, photos, expected):
    assert text_error(text, photos) == expected


@pytest.mark.parametrize(
    ("media_ids", "problem"),
    [
        ([], None),
        (["a"], None),
        (["a", "b", "c"], None),
        (["a", "b", "c", "d"], "expected at most 3 photos in a message, got 4"),
        (["a", "a"], "expected each photo once in a message"),
    ],
)
def test_media_error(media_ids, problem):
    assert media_error(media_ids) == problem


def spend(rate: float, times: list[float]) -> list[bool]:
    """Sends at each of `times`, carrying the bucket between them."""
    bucket, results = None, []
    for now in times:
        bucket, allowed = take(bucket, now, rate)
        results.append(allowed)
    return results


@pytest.mark.parametrize("rate", [1, 3, 20])
def test_a_burst_of_rate_sends_goes_and_the_next_is_limited(rate):
    assert spend(rate, [100.0] * (rate + 1)) == [True] * rate + [False]


@pytest.mark.parametrize(
    ("rate", "times", "expected"),
    [
        # 2 per second: a burst of 2, then one every half second.
        (2, [0, 0, 0, 0.25, 0.5, 0.5, 1.0], [True, True, False, False, True, False, True]),
        # A second of silence refills the whole burst, and no more than that.
        (2, [0, 0, 10, 10, 10], [True, True, True, True, False]),
        # 20 per second: a refused send does not spend, and 50 ms buys one more.
        (20, [0] * 21 + [0.05, 0.05], [True] * 20 + [False, True, False]),
    ],
)
def test_bucket_refills_over_time(rate, times, expected):
    assert spend(rate, times) == expected


def test_rate_zero_is_unlimited():
    assert spend(0, [5.0] * 10_000) == [True] * 10_000


def test_bucket_with_time_going_nowhere_stays_empty():
    bucket = Bucket(tokens=0.0, at=50.0)
    assert take(bucket, 50.0, 5)[1] is False


@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_a_rate_below_one_per_second_still_lets_one_send_through_per_interval(rate):
    # limits.chat_per_second accepts any number >= 0, so 0.5 means one send every 2 s.
    interval = 1 / rate
    assert spend(rate, [0, 0, interval]) == [True, False, True]


STATES = [ChatState.NOT_STARTED, ChatState.OPEN, ChatState.CLOSED, ChatState.UNAVAILABLE, None]


@pytest.mark.parametrize(
    ("keyword", "state"), list(itertools.product(Keyword, STATES)), ids=str
)
def test_keywords_win_over_chat_state(keyword, state):
    expected = {Keyword.STOP: "block", Keyword.START: "unblock", Keyword.HELP: "help"}[keyword]
    if keyword is Keyword.HELP and state is None:
        expected = "ignore"  # an unknown phone gets an empty reply, even to HELP
    decision = on_inbound_sms(keyword, state, frozenset())
    assert decision == InboundDecision(InboundAction(expected))


@pytest.mark.parametrize(
    ("keyword", "state", "expected"),
    [
        # The retailer owns the customer's messaging: nothing is texted back...
        (Keyword.HELP, ChatState.UNAVAILABLE, InboundAction.KEEP),
        (None, ChatState.UNAVAILABLE, InboundAction.KEEP),
        (None, ChatState.CLOSED, InboundAction.KEEP),
        # ...but STOP and START still count, and an unknown phone is still ignored.
        (Keyword.STOP, ChatState.UNAVAILABLE, InboundAction.BLOCK),
        (Keyword.START, ChatState.UNAVAILABLE, InboundAction.UNBLOCK),
        (None, None, InboundAction.IGNORE),
    ],
)
def test_no_reply_is_texted_when_the_retailer_owns_messaging(keyword, state, expected):
    assert on_inbound_sms(keyword, state, frozenset(), may_reply=False) == InboundDecision(expected)


@pytest.mark.parametrize(
    ("state", "replied", "expected"),
    [
        (None, frozenset(), InboundDecision(InboundAction.IGNORE)),
        (ChatState.OPEN, frozenset(), InboundDecision(InboundAction.APPEND)),
        (ChatState.OPEN, frozenset({"not_started"}), InboundDecision(InboundAction.APPEND)),
        (
            ChatState.NOT_STARTED,
            frozenset(),
            InboundDecision(InboundAction.KEEP_AND_REPLY, reply_state=ChatState.NOT_STARTED),
        ),
        (ChatState.NOT_STARTED, frozenset({"not_started"}), InboundDecision(InboundAction.KEEP)),
        (
            ChatState.CLOSED,
            frozenset(),
            InboundDecision(InboundAction.KEEP_AND_REPLY, reply_state=ChatState.CLOSED),
        ),
        # A reply before chat opened does not stand in for the one after it closed.
        (
            ChatState.CLOSED,
            frozenset({"not_started"}),
            InboundDecision(InboundAction.KEEP_AND_REPLY, reply_state=ChatState.CLOSED),
        ),
        (ChatState.CLOSED, frozenset({"not_started", "closed"}), InboundDecision(InboundAction.KEEP)),
        (
            ChatState.UNAVAILABLE,
            frozenset(),
            InboundDecision(InboundAction.KEEP_AND_REPLY, reply_state=ChatState.UNAVAILABLE),
        ),
        (ChatState.UNAVAILABLE, frozenset({"unavailable"}), InboundDecision(InboundAction.KEEP)),
    ],
)
def test_inbound_text_without_keyword(state, replied, expected):
    assert on_inbound_sms(None, state, replied) == expected


def test_polite_reply_goes_once_per_order_and_state():
    replied: set[str] = set()
    actions = []
    for _ in range(3):
        decision = on_inbound_sms(None, ChatState.NOT_STARTED, frozenset(replied))
        actions.append(decision.action)
        if decision.reply_state is not None:
            replied.add(decision.reply_state.value)
    assert actions == [InboundAction.KEEP_AND_REPLY, InboundAction.KEEP, InboundAction.KEEP]
