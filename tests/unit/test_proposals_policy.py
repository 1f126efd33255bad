"""Replacement proposals (contract section 11): what may be proposed, how it reads as a text,
which texts answer it, and how an answer reads."""

from __future__ import annotations

import pytest

from gateway.policy.chat import ErrorCode
from gateway.policy.proposals import (
    answer_error,
    choice_in_words,
    digit_answer,
    proposal_error,
    proposal_text,
    worst_case_proposal,
)
from gateway.templates import segments


@pytest.mark.parametrize(
    ("item", "options", "code"),
    [
        ("Organic 2% milk", ["Organic whole milk"], None),
        ("Milk", ["A", "B", "C"], None),
        ("M" * 80, ["O" * 80], None),
        ("", ["A"], ErrorCode.BAD_FRAME),
        ("   ", ["A"], ErrorCode.BAD_FRAME),
        ("Milk", [], ErrorCode.BAD_FRAME),
        ("Milk", ["A", "B", "C", "D"], ErrorCode.BAD_FRAME),
        ("Milk", ["A", " "], ErrorCode.BAD_FRAME),
        ("M" * 81, ["A"], ErrorCode.TOO_LONG),
        ("Milk", ["A", "O" * 81], ErrorCode.TOO_LONG),
    ],
)
def test_what_may_be_proposed(item, options, code):
    refusal = proposal_error(item, options)
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    ("count", "choice", "answered", "code"),
    [
        (2, 0, False, None),  # no replacement
        (2, 1, False, None),
        (2, 2, False, None),
        (3, 3, False, None),
        (2, 3, False, ErrorCode.BAD_FRAME),
        (1, -1, False, ErrorCode.BAD_FRAME),
        (2, 1, True, ErrorCode.ALREADY_ANSWERED),
        (2, 9, True, ErrorCode.ALREADY_ANSWERED),  # answered says more than a bad choice
    ],
)
def test_what_may_answer(count, choice, answered, code):
    refusal = answer_error(count, choice, answered)
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    ("body", "choice"),
    [
        ("1", 1),
        ("0", 0),
        (" 2 ", 2),
        ("\n3\n", 3),
        ("9", 9),  # a digit; whether the proposal has that option is answer_error's to say
        ("12", None),
        ("1.", None),
        ("one", None),
        ("1 please", None),
        ("", None),
        ("STOP", None),
        ("١", None),  # an Arabic-Indic digit is not one the text offered
    ],
)
def test_only_a_lone_digit_answers(body, choice):
    assert digit_answer(body) == choice


def test_the_text_reads_as_the_contract_spells_it():
    text = proposal_text("Alex", "Organic 2% milk", ["Organic whole milk", "Store 2% milk"])
    assert text == (
        "Alex: Organic 2% milk is out. Reply 1 for Organic whole milk, 2 for Store 2% milk, "
        "or 0 for no replacement."
    )
    assert segments(text) == 1


def test_a_shoppers_note_rides_along_when_it_fits():
    text = proposal_text("Alex", "Milk", ["Oat milk"], "Sorry!")
    assert text == "Alex: Milk is out. Sorry! Reply 1 for Oat milk, or 0 for no replacement."


@pytest.mark.parametrize(
    ("shopper", "item", "options", "note"),
    [
        ("Alex", "M" * 80, ["O" * 80] * 3, None),
        ("Alex", "Milk", ["Oat milk"], "N" * 1000),
        ("W" * 64, "W" * 80, ["W" * 80] * 3, "W" * 1000),
        ("Zoë", "Crème fraîche", ["Crème fraîche allégée"] * 3, "Désolé!"),  # UCS-2: 67 a segment
    ],
)
def test_a_long_proposal_still_fits_two_segments_and_keeps_every_choice(shopper, item, options, note):
    text = proposal_text(shopper, item, options, note)
    assert segments(text) <= 2
    for n in range(1, len(options) + 1):
        assert f"{n} for " in text
    assert text.endswith("or 0 for no replacement.")


def test_the_worst_case_is_what_the_report_shows():
    assert segments(worst_case_proposal()) == 2


@pytest.mark.parametrize(
    ("choice", "words"),
    [(0, "No replacement, thanks."), (1, "Yes, Oat milk is fine."), (2, "Yes, Soy milk is fine.")],
)
def test_an_answer_says_the_choice_in_words(choice, words):
    assert choice_in_words(["Oat milk", "Soy milk"], choice) == words
