"""Phone numbers (contract section 4: "Phones must be valid E.164") and masking for logs."""

from __future__ import annotations

import pytest

from gateway.phones import mask, normalize


@pytest.mark.parametrize(
    "phone",
    [
        "+15551230001",  # fictional 555 numbers are used by tests and demos
        "+15005550006",  # Twilio's magic test sender
        "+447700900123",  # UK mobile (Ofcom drama range)
        "+33612345678",
        "+4915112345678",
    ],
)
def test_e164_number_is_accepted_as_is(phone):
    assert normalize(phone) == phone


@pytest.mark.parametrize(
    "text",
    [
        "5551230001",  # no +
        "+1 555 123 0001",  # spaces
        "+1-555-123-0001",
        "(555) 123-0001",
        "+1555",  # too short
        "+155512300011",  # one digit too many for the US
        "+1555123000a",
        "+1555CALLNOW",
        "phone",
        "",
        "+",
        "+0155512300",  # no country code starts with 0
        " +15551230001",
        "+15551230001\n",
        "+1555123000١",  # an Arabic-Indic digit
    ],
)
def test_anything_but_e164_is_refused(text):
    assert normalize(text) is None


@pytest.mark.parametrize(
    "phone",
    ["+15551230001", "+447700900123", "+4915112345678", "+1234567", "12345", "+123", "+1", ""],
)
def test_mask_shows_at_most_the_first_two_and_last_two_characters(phone):
    masked = mask(phone)
    assert len(masked) == len(phone)
    assert set(masked[2:-2]) <= {"*"}
    hidden = sum(1 for shown, real in zip(masked, phone) if shown != real)
    assert hidden >= len(phone) - 4
    # Every character shown is in its place at one of the ends.
    for index, character in enumerate(masked):
        if character != "*":
            assert index < 2 or index >= len(phone) - 2


def test_mask_of_a_us_number():
    assert mask("+15551230001") == "+1********01"


@pytest.mark.parametrize("phone", ["+123", "1234", "+1", ""])
def test_mask_hides_a_short_value_entirely(phone):
    assert mask(phone) == "*" * len(phone)
