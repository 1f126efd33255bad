"""Phone numbers (contract section 4): what a person may write, its E.164 form, what is
refused and why, and masking for logs."""

from __future__ import annotations

import pytest

from gateway.phones import InvalidPhone, is_region, mask, normalize, parse


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
def test_e164_number_is_kept_as_is_in_any_region(phone):
    assert normalize(phone, "US") == phone
    assert normalize(phone, "GB") == phone
    assert normalize(phone, None) == phone


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("5551230001", "US", "+15551230001"),
        ("(555) 123-0001", "US", "+15551230001"),
        ("555.123.0001", "US", "+15551230001"),
        ("555-123-0001", "US", "+15551230001"),
        ("1 555 123 0001", "US", "+15551230001"),  # the trunk prefix 1
        ("+1 555 123 0001", "US", "+15551230001"),
        ("+1-555-123-0001", "GB", "+15551230001"),  # a + ignores the region
        ("+1 (555) 123-0001", None, "+15551230001"),
        (" +15551230001 ", "US", "+15551230001"),  # spaces around it are spaces too
        ("07700 900123", "GB", "+447700900123"),  # national trunk 0 dropped
        ("0044 7700 900123", "GB", "+447700900123"),  # the region's international prefix
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0151 12345678", "DE", "+4915112345678"),
    ],
)
def test_written_number_is_normalised_to_e164(text, region, e164):
    assert parse(text, region) == e164
    assert normalize(text, region) == e164


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("+1555123000a", "digits, spaces, dashes"),  # a letter
        ("+1555CALLNOW", "digits, spaces, dashes"),  # vanity letters are not read
        ("phone", "digits, spaces, dashes"),
        ("", "digits, spaces, dashes"),
        ("+", "digits, spaces, dashes"),
        ("()- .", "digits, spaces, dashes"),
        ("++15551230001", "digits, spaces, dashes"),
        ("1+5551230001", "digits, spaces, dashes"),  # + only in front
        ("+15551230001\n", "digits, spaces, dashes"),  # a control character
        ("+1555\t1230001", "digits, spaces, dashes"),
        ("+1555\u200b1230001", "digits, spaces, dashes"),  # zero-width space
        ("+1555\u00a01230001", "digits, spaces, dashes"),  # no-break space
        ("+1555123000\u0661", "digits, spaces, dashes"),  # an Arabic-Indic digit
        ("\uff0b15551230001", "digits, spaces, dashes"),  # a fullwidth plus
        ("+1 555 123 0001 ext. 12", "digits, spaces, dashes"),  # extensions
        ("+1 555 123 0001 x12", "digits, spaces, dashes"),
        ("+1 555 123 0001;ext=12", "digits, spaces, dashes"),
        ("+1 555 123 0001#12", "digits, spaces, dashes"),
        ("+1/555/123/0001", "digits, spaces, dashes"),
        ("1" * 41, "digits, spaces, dashes"),  # far too long to be a phone as written
        ("+1555", "not a possible phone number for country code +1"),  # too short
        ("+155512300011", "not a possible phone number for country code +1"),  # one digit too many
        ("555 1234", "not a possible phone number for country code +1"),  # no area code: local only
        ("+44 7700 9001", "not a possible phone number for country code +44"),
        ("+0155512300", "known country code"),  # no country code starts with 0
        ("+999 123 4567", "known country code"),
    ],
)
def test_unreadable_or_impossible_number_is_refused_saying_why(text, says):
    with pytest.raises(InvalidPhone) as caught:
        parse(text, "US")
    assert says in str(caught.value)
    assert normalize(text, "US") is None


def test_without_a_region_only_e164_is_read():
    with pytest.raises(InvalidPhone, match="E.164"):
        parse("5551230001", None)


def test_refusal_is_in_our_words_not_the_librarys():
    with pytest.raises(InvalidPhone) as caught:
        parse("+999 123 4567", "US")
    assert "plus-sign" not in str(caught.value)  # phonenumbers' own wording
    assert "'+999 123 4567'" in str(caught.value)  # what arrived


@pytest.mark.parametrize(("code", "known"), [("US", True), ("GB", True), ("us", False), ("XX", False), ("", False)])
def test_is_region(code, known):
    assert is_region(code) is known


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
