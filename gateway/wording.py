"""msgspec's validation messages in our words, for API bodies and config files alike: a
client or operator reads what was expected, never a library's notation (backticks, `$.paths`,
regular expressions)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# msgspec's names for kinds of value, as a JSON body's author would say them.
JSON_KINDS = {
    "str": "a string", "int": "a whole number", "float": "a number", "bool": "true or false",
    "array": "an array", "object": "an object", "null": "null", "bytes": "a string",
    "datetime": "a date and time", "date": "a date", "time": "a time",
}

_KINDS = re.compile(r"Expected `([^`]+)`, got `([^`]+)`")
_PATTERN = re.compile(r"Expected `str` matching regex .*")
_LENGTH = re.compile(r"Expected `(str|array|object)` of length ([<>]=) (\d+)")
_RANGE = re.compile(r"Expected `(int|float)` ([<>]=?) (-?[\d.]+)")
_ENUM = re.compile(r"Invalid enum value (.+)")
_MISSING = re.compile(r"Object missing required field `[^`]+`")
_UNKNOWN = re.compile(r"Object contains unknown field `[^`]+`")
_UNITS = {"str": "character", "array": "item", "object": "entry"}
_COMPARE = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


def in_our_words(
    problem: str,
    *,
    kinds: Mapping[str, str] = JSON_KINDS,
    choices: Sequence[str] = (),
    format_words: str = "",
) -> str:
    """`problem` (msgspec's message without its " - at `$...`" suffix) as a sentence of ours.
    `choices` are the allowed values of an enum field; `format_words` says what a field with
    a pattern accepts ("1-128 letters, digits or ._:-")."""
    if match := _KINDS.fullmatch(problem):
        expected, got = (" or ".join(kinds.get(kind, kind) for kind in part.split(" | ")) for part in match.groups())
        return f"expected {expected}, got {got}"
    if _MISSING.fullmatch(problem):
        return "required"
    if _UNKNOWN.fullmatch(problem):
        return "not a known field"
    if _PATTERN.fullmatch(problem):
        return f"expected {format_words}" if format_words else "not in the expected format"
    if match := _LENGTH.fullmatch(problem):
        kind, compare, count = match.groups()
        unit = _UNITS[kind] + ("" if count == "1" else "s")
        return f"expected {_COMPARE[compare]} {count} {unit}"
    if match := _RANGE.fullmatch(problem):
        _, compare, bound = match.groups()
        return f"expected a number {_COMPARE[compare]} {bound}"
    if match := _ENUM.fullmatch(problem):
        expected = " or ".join(f'"{choice}"' for choice in choices) if choices else "an allowed value"
        return f"expected {expected}, got {match[1]}"
    return problem
