"""Phone numbers: E.164 checks with phonenumbers, and masking for logs."""

from __future__ import annotations

import re

import phonenumbers

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def normalize(text: str) -> str | None:
    """The E.164 form of `text`, or None when it is not an E.164 number.

    Requires the E.164 spelling (+ and digits) and a number that is possible for its country
    (right length). Deliberately not `is_valid_number`: that rejects fictional 555 numbers
    and newly allocated ranges that real carriers and Twilio's test kit use."""
    if not _E164.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str) -> str:
    """For logs: keep the country code's first digit and the last two, e.g. +1*******01."""
    if len(phone) <= 4:
        return "*" * len(phone)
    return phone[:2] + "*" * (len(phone) - 4) + phone[-2:]
