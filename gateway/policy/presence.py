"""Presence-aware chat texts (contract section 9): a shopper message to a customer who is
reading the page is held, and then texted, or dropped because it was read there."""

from __future__ import annotations

from enum import StrEnum


class Held(StrEnum):
    SEND = "send"  # text it now (consent is checked next, as for any text)
    HOLD = "hold"  # look again later
    READ_ON_PAGE = "read_on_page"  # the customer read it on the page: never text it


def holds(fallback: float, present: bool) -> bool:
    """Whether a new shopper message waits before it is texted: only while the customer is
    present, and never with chat_fallback = 0 (every message texted at once, as in v1)."""
    return fallback > 0 and present


def on_held_text(seq: int, read_upto: int, present: bool, now: float, hold_until: float) -> Held:
    """What a held text does now. Read on the page wins, even at the end of the window; a
    customer no longer present, or a window that has ended, sends it."""
    if read_upto >= seq:
        return Held.READ_ON_PAGE
    if not present or now >= hold_until:
        return Held.SEND
    return Held.HOLD
