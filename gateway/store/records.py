"""What the Store keeps. msgspec Structs, so both stores encode them the same way."""

from __future__ import annotations

import msgspec

from gateway.policy.chat import Role, Via
from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Status, Workflow


class Shopper(msgspec.Struct, frozen=True):
    id: str
    name: str


class ConsentChange(msgspec.Struct, frozen=True):
    opt_in: bool
    source: ConsentSource
    at: float


class EventRecord(msgspec.Struct, frozen=True):
    event_id: str
    event_name: str
    occurred_at: str | None
    received_at: float
    applied: bool


class OrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    retailer: str  # the config key
    workflow: Workflow
    customer_phone: str
    customer_name: str | None = None
    locale: str | None = None
    request_digest: str  # of the create body: the same body again is a retry, another a conflict
    status: Status = Status.BRAND_NEW
    consent: Consent
    consent_log: tuple[ConsentChange, ...] = ()
    shopper: Shopper | None = None
    sender: str  # this order's number from the pool
    created_at: float
    events: tuple[EventRecord, ...] = ()
    replied_states: tuple[str, ...] = ()  # chat states that already got the one polite reply
    closed_at: float | None = None
    # Bumped by every write of the record (OrderStore.update_order); a new order's is 1, and 0
    # is a record from before versions (never checked). A node decides a chat message on its
    # copy of the record, and the chat log stores the message only if the record is still
    # that version (ChatLog.append). The last field: Redis checks it by the encoding's tail.
    version: int = 0

    def with_consent(self, consent: Consent, at: float) -> OrderRecord:
        """This order with `consent`, the change kept in its log with its source and time."""
        change = ConsentChange(opt_in=consent.opt_in, source=consent.source, at=at)
        return msgspec.structs.replace(self, consent=consent, consent_log=(*self.consent_log, change))

    def seen_event_ids(self) -> frozenset[str]:
        return frozenset(event.event_id for event in self.events)


class MediaRef(msgspec.Struct, frozen=True):
    """A photo a message carries (contract section 10): its id, type and signed URL. The URL
    is signed once, as the message is stored, and lasts as long as the order can (see
    gateway/media/urls.py), since a stored message is never rewritten."""

    id: str
    content_type: str
    url: str


class ProposalAnswer(msgspec.Struct, frozen=True):
    """How a proposal was answered (contract section 11): the choice (0 = no replacement),
    the channel it came by, and when."""

    choice: int
    via: Via
    at: str  # RFC 3339, UTC, milliseconds


class Proposal(msgspec.Struct, frozen=True):
    """A replacement proposal a shopper message carries. `answer` is always on the wire:
    null until the customer answers, then set once, in place, by the chat log."""

    item: str
    options: list[str]
    answer: ProposalAnswer | None = None


class AnswerRef(msgspec.Struct, frozen=True):
    """What a customer's answer message answers: the proposal's seq and the choice."""

    seq: int
    choice: int


class ChatMessage(msgspec.Struct, frozen=True, omit_defaults=True):
    """One message of an order's chat, as stored and as the wire carries it (contract
    section 6's `message`). Its `seq` is given by the chat log when it is appended."""

    seq: int
    id: str
    sender: Role = msgspec.field(name="from")
    via: Via
    text: str
    at: str  # RFC 3339, UTC, milliseconds
    client_id: str | None = None
    media: list[MediaRef] | None = None  # 1..3 photos; absent on a message without
    proposal: Proposal | None = None  # a shopper's replacement proposal (section 11)
    answer: AnswerRef | None = None  # a customer's answer to one


class TextRef(msgspec.Struct, frozen=True):
    """What an outbound text (by provider sid) was about, for its status callbacks."""

    order_id: str
    phone: str
    sender: str
    seq: int | None = None  # the shopper message it carried; None for a notification


class Block(msgspec.Struct, frozen=True):
    keyword: bool  # STOP: every sender
    sender: bool  # the carrier refused this sender (Twilio 21610)

    @property
    def any(self) -> bool:
        return self.keyword or self.sender

