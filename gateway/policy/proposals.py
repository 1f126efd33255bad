"""Replacement proposals (contract section 11): what a shopper may propose, how it reads as a
text, which customer text answers it, and how the answer reads."""

from __future__ import annotations

import msgspec

from gateway.policy.chat import ErrorCode
from gateway.templates import segments

MAX_ITEM = 80  # characters of the missing item, and of each option
MAX_OPTIONS = 3
NO_REPLACEMENT = 0  # the choice that takes none of the options
TWO_SEGMENTS = 2
_ELLIPSIS = "..."  # GSM-7: a "…" would make the whole text UCS-2, 70 characters a segment


class Refusal(msgspec.Struct, frozen=True):
    code: ErrorCode
    message: str


def proposal_error(item: str, options: list[str]) -> Refusal | None:
    """Why a proposal cannot be sent as it is, or None: an item and 1..3 options, each
    1..80 characters of more than white space."""
    if not item.strip():
        return Refusal(ErrorCode.BAD_FRAME, "expected an item of 1 to 80 characters, got none")
    if not 1 <= len(options) <= MAX_OPTIONS:
        return Refusal(ErrorCode.BAD_FRAME, f"expected 1 to {MAX_OPTIONS} options, got {len(options)}")
    if any(not option.strip() for option in options):
        return Refusal(ErrorCode.BAD_FRAME, "expected every option to have 1 to 80 characters, got an empty one")
    longest = max([item, *options], key=len)
    if len(longest) > MAX_ITEM:
        return Refusal(ErrorCode.TOO_LONG, f"expected the item and each option in {MAX_ITEM} characters, got {len(longest)}")
    return None


def answer_error(options_count: int, choice: int, answered: bool) -> Refusal | None:
    """Why this choice cannot answer a proposal with `options_count` options, or None."""
    if answered:
        return Refusal(ErrorCode.ALREADY_ANSWERED, "this proposal was answered already")
    if not NO_REPLACEMENT <= choice <= options_count:
        return Refusal(
            ErrorCode.BAD_FRAME, f"expected a choice from 0 (no replacement) to {options_count}, got {choice}"
        )
    return None


def digit_answer(body: str) -> int | None:
    """The choice a text makes when it is exactly one digit (spaces around it aside), else
    None: anything else is ordinary chat. Keywords are words, so no digit is one."""
    text = body.strip()
    if len(text) == 1 and text in "0123456789":
        return int(text)
    return None


def choice_in_words(options: list[str], choice: int) -> str:
    """The answer as the customer's message says it."""
    if choice == NO_REPLACEMENT:
        return "No replacement, thanks."
    return f"Yes, {options[choice - 1]} is fine."


def _render(shopper: str, item: str, options: list[str], text: str | None) -> str:
    choices = ", ".join(f"{n} for {option}" for n, option in enumerate(options, start=1))
    note = f" {text.strip()}" if text and text.strip() else ""
    return f"{shopper}: {item} is out.{note} Reply {choices}, or 0 for no replacement."


def _shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: max(1, limit - len(_ELLIPSIS))].rstrip() + _ELLIPSIS


def proposal_text(shopper: str, item: str, options: list[str], text: str | None = None) -> str:
    """The proposal as a text, in one or two segments where it can be: when the whole of it
    would take more, the shopper's note goes first, then the item and options are shortened
    (longest first) until it fits. The digits and "0 for no replacement" always stay."""
    full = _render(shopper, item, options, text)
    if segments(full) <= TWO_SEGMENTS:
        return full
    if text and segments(_render(shopper, item, options, None)) <= TWO_SEGMENTS:
        return _render(shopper, item, options, None)
    parts = [item, *options]
    while segments(_render(shopper, parts[0], parts[1:], None)) > TWO_SEGMENTS:
        longest = max(range(len(parts)), key=lambda i: len(parts[i]))
        if len(parts[longest]) <= 6:
            break  # nothing left worth shortening: the shopper's name is what is long
        parts[longest] = _shorten(parts[longest], len(parts[longest]) - 4)
    return _render(shopper, parts[0], parts[1:], None)


def worst_case_proposal() -> str:
    """The longest proposal text: for the template report's worst-case segment count."""
    return proposal_text("W" * 64, "W" * MAX_ITEM, ["W" * MAX_ITEM] * MAX_OPTIONS, "W" * 1000)
