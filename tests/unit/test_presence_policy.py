"""Presence-aware chat texts (contract section 9), as a table."""

from __future__ import annotations

import pytest

from gateway.policy.presence import Held, holds, on_held_text


@pytest.mark.parametrize(
    ("fallback", "present", "expected"),
    [(60, True, True), (60, False, False), (0, True, False), (0, False, False), (0.5, True, True)],
)
def test_a_message_is_held_only_while_the_customer_reads_the_page(fallback, present, expected):
    assert holds(fallback, present) is expected


@pytest.mark.parametrize(
    ("seq", "read_upto", "present", "now", "until", "expected"),
    [
        (5, 0, True, 100, 160, Held.HOLD),  # in the window, still on the page
        (5, 4, True, 100, 160, Held.HOLD),  # read up to an earlier message only
        (5, 5, True, 100, 160, Held.READ_ON_PAGE),  # read: never texted
        (5, 9, False, 100, 160, Held.READ_ON_PAGE),  # a later read covers it too
        (5, 5, True, 170, 160, Held.READ_ON_PAGE),  # read wins even after the window
        (5, 0, False, 100, 160, Held.SEND),  # looked away (or the page closed): text it now
        (5, 4, True, 160, 160, Held.SEND),  # the window ended
        (5, 0, True, 161, 160, Held.SEND),
    ],
)
def test_what_a_held_text_does(seq, read_upto, present, now, until, expected):
    assert on_held_text(seq, read_upto, present, now, until) is expected
