"""Phone numbers (contract section 4): reading what people write, E.164 out, masking for logs."""

from __future__ import annotations

import re

import phonenumbers

# Digits, spaces, dashes, dots and parentheses, with at most one + before the first digit.
# Anything else (letters, an extension, control or invisible characters, non-ASCII digits) is
# refused rather than guessed at: `[0-9]` and the spaces here are ASCII only.
_WRITTEN = re.compile(r" *(\+?)[ ().-]*[0-9][0-9 ().-]*")
MAX_LENGTH = 40  # characters as written; the longest E.164 number is 16


class InvalidPhone(ValueError):
    """A phone that cannot be read; `str()` says why in the contract's words."""


def parse(text: str, region: str | None) -> str:
    """The E.164 form of a phone as a person or a system writes it. One without a leading + is
    read in `region` (an ISO 3166 code such as "US"; None requires the +). Raises InvalidPhone.

    The number must be *possible* for its country (the right length), deliberately not
    `is_valid_number`: that rejects fictional 555 numbers and newly allocated ranges that real
    carriers and Twilio's test kit use."""
    written = _WRITTEN.fullmatch(text) if len(text) <= MAX_LENGTH else None
    if written is None:
        raise InvalidPhone(
            f"expected a phone number of digits, spaces, dashes, dots, parentheses and one "
            f"leading +, got {text!r}"
        )
    if not written[1] and region is None:
        raise InvalidPhone(f"expected an E.164 number such as +14155552671, got {text!r}")
    try:
        number = phonenumbers.parse(text, None if written[1] else region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"expected a number with a known country code, got {text!r}") from None
    # IS_POSSIBLE only: IS_POSSIBLE_LOCAL_ONLY (a US number without its area code) would
    # give a number nobody can text.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidPhone(
            f"{text!r} is not a possible phone number for country code +{number.country_code} "
            "(wrong number of digits)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(text: str, region: str | None) -> str | None:
    """`parse`, with None for a phone that cannot be read."""
    try:
        return parse(text, region)
    except InvalidPhone:
        return None


def is_region(code: str) -> bool:
    """Whether `code` is a region phonenumbers can read national numbers in ("US", "GB")."""
    return code in phonenumbers.SUPPORTED_REGIONS


def mask(phone: str) -> str:
    """For logs: keep the country code's first digit and the last two, e.g. +1*******01."""
    if len(phone) <= 4:
        return "*" * len(phone)
    return phone[:2] + "*" * (len(phone) - 4) + phone[-2:]
