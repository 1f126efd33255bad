"""Chat rules: who may join an order, who may send, what a text must be, how fast."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from gateway.policy.consent import Keyword
from gateway.policy.lifecycle import ChatState

MAX_TEXT = 1000
MAX_MEDIA = 3  # photos one message may carry


class Role(StrEnum):
    """Who wrote a message (its `from`), and which side a socket or token is."""

    CUSTOMER = "customer"
    SHOPPER = "shopper"
    SYSTEM = "system"


class Via(StrEnum):
    """How a message came in."""

    SMS = "sms"
    WEB = "web"
    APP = "app"


class ErrorCode(StrEnum):
    """Every `code` of a WebSocket `error` frame (contract section 6)."""

    BAD_FRAME = "bad_frame"
    NOT_AUTHORIZED = "not_authorized"
    NOT_JOINED = "not_joined"
    CHAT_NOT_OPEN = "chat_not_open"
    CHAT_CLOSED = "chat_closed"
    CHAT_UNAVAILABLE = "chat_unavailable"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"
    BAD_MEDIA = "bad_media"
    ALREADY_ANSWERED = "already_answered"
    UNAVAILABLE = "unavailable"  # the store or broker cannot be reached: try again
    OVERLOADED = "overloaded"  # past what the node can take right now: retry after retry_after_ms
    # Beyond the contract's list: a joined socket's order lost messages it had seen (a Redis
    # that kept no data came back): join again.
    HISTORY_LOST = "history_lost"


_STATE_ERRORS = {
    ChatState.NOT_STARTED: ErrorCode.CHAT_NOT_OPEN,
    ChatState.CLOSED: ErrorCode.CHAT_CLOSED,
    ChatState.UNAVAILABLE: ErrorCode.CHAT_UNAVAILABLE,
}


def may_join(role: Role, subject: str, order_id: str, order_shopper_id: str | None) -> bool:
    """A customer token names one order; a shopper joins only orders assigned to it."""
    if role is Role.CUSTOMER:
        return subject == order_id
    return order_shopper_id is not None and subject == order_shopper_id


def send_error(state: ChatState) -> ErrorCode | None:
    """Why a chat message cannot be sent in this chat state, or None when it can."""
    return _STATE_ERRORS.get(state)


def text_error(text: str, photos: int = 0) -> ErrorCode | None:
    """A chat text is 1..1000 characters and not only white space; with photos it may also
    be empty (a photo says enough)."""
    if not text.strip() and photos == 0:
        return ErrorCode.BAD_FRAME
    if len(text) > MAX_TEXT:
        return ErrorCode.TOO_LONG
    return None


def media_error(media_ids: list[str]) -> str | None:
    """Why a send's list of photo ids cannot be (`bad_media`), in words; None when it can: up
    to 3 different ids (none is a message without photos). Whether each is a photo of that
    order is the media store's answer."""
    if len(media_ids) > MAX_MEDIA:
        return f"expected at most {MAX_MEDIA} photos in a message, got {len(media_ids)}"
    if len(set(media_ids)) != len(media_ids):
        return "expected each photo once in a message"
    return None


class Bucket(msgspec.Struct, frozen=True):
    """A token bucket: `tokens` left as of `at` (seconds, any monotonic clock)."""

    tokens: float
    at: float


def take(bucket: Bucket | None, now: float, rate: float) -> tuple[Bucket | None, bool]:
    """Spend one send from a bucket that refills `rate` per second and holds `rate` (the
    burst), and never less than one send, so a rate below 1 still lets one through per
    1/rate seconds. A rate of 0 means no limit. Returns the new bucket and whether the send
    may go."""
    if rate <= 0:
        return None, True
    capacity = max(rate, 1.0)
    if bucket is None:
        bucket = Bucket(tokens=capacity, at=now)
    tokens = min(capacity, bucket.tokens + (now - bucket.at) * rate)
    if tokens < 1:
        return Bucket(tokens=tokens, at=now), False
    return Bucket(tokens=tokens - 1, at=now), True


class InboundAction(StrEnum):
    BLOCK = "block"  # STOP family: block the phone, opt its open orders out, say nothing
    UNBLOCK = "unblock"  # START family: unblock, opt its open orders in
    HELP = "help"  # answer with the help text
    APPEND = "append"  # join the order's chat
    KEEP_AND_REPLY = "keep_and_reply"  # keep for support and send the one polite reply
    KEEP = "keep"  # keep for support; the polite reply for this state was already sent
    IGNORE = "ignore"  # no order for this phone: empty reply


class InboundDecision(msgspec.Struct, frozen=True):
    action: InboundAction
    reply_state: ChatState | None = None  # which polite reply, with KEEP_AND_REPLY


def on_inbound_sms(
    keyword: Keyword | None,
    state: ChatState | None,
    replied_states: frozenset[str],
    *,
    may_reply: bool = True,
) -> InboundDecision:
    """What an inbound text does. `state` is the routed order's chat state (None: no order
    for this phone); `replied_states` are the states that order already got a polite reply in.
    `may_reply` is False when the retailer owns the customer's messaging: the gateway then
    texts nothing back, not even help or a polite reply, but still honours STOP and START
    and keeps the text for support."""
    if keyword is Keyword.STOP:
        return InboundDecision(InboundAction.BLOCK)
    if keyword is Keyword.START:
        return InboundDecision(InboundAction.UNBLOCK)
    if state is None:
        return InboundDecision(InboundAction.IGNORE)  # an unknown phone: even HELP gets nothing
    if keyword is Keyword.HELP:
        return InboundDecision(InboundAction.HELP if may_reply else InboundAction.KEEP)
    if state is ChatState.OPEN:
        return InboundDecision(InboundAction.APPEND)
    if state.value in replied_states or not may_reply:
        return InboundDecision(InboundAction.KEEP)
    return InboundDecision(InboundAction.KEEP_AND_REPLY, reply_state=state)
