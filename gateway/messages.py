"""WebSocket wire protocol (contract section 6): tagged Structs, one union per direction.

Server frames are also what travels between nodes on an order's broker channel, so a node
hands the bytes it receives to its sockets without re-encoding them."""

from __future__ import annotations

from typing import Annotated

import msgspec

from gateway.policy.chat import ErrorCode
from gateway.store.records import ChatMessage, ProposalAnswer

OrderId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**53)]  # a JSON-safe integer


class _Frame(msgspec.Struct, frozen=True, tag_field="type", omit_defaults=True):
    pass


# --- client -> server -------------------------------------------------------------------


class Join(_Frame, tag="join"):
    order_id: OrderId
    after: Seq = 0


class Send(_Frame, tag="send"):
    order_id: OrderId
    client_id: ClientId
    text: str  # length is policy (too_long), not schema (bad_frame)
    media: list[str] | None = None  # photo ids (section 10); how many and which is policy (bad_media)


class Propose(_Frame, tag="propose"):
    """Shopper only: a replacement proposal (contract section 11). Lengths and counts are
    policy (policy.proposals), not schema, so they get the contract's error codes."""

    order_id: OrderId
    client_id: ClientId
    item: str
    options: list[str]
    text: str | None = None  # the shopper's note
    media: list[str] | None = None  # photo ids, as `send` takes them


class Answer(_Frame, tag="answer"):
    """Customer only: answers proposal `seq` with `choice`."""

    order_id: OrderId
    client_id: ClientId
    seq: Seq
    choice: int  # 0 = no replacement; the range a proposal allows is policy (answer_error)


class Typing(_Frame, tag="typing"):
    order_id: OrderId


class Read(_Frame, tag="read"):
    order_id: OrderId
    seq: Seq


class Presence(_Frame, tag="presence"):
    """Customer only: whether its page is in view (contract section 9)."""

    order_id: OrderId
    visible: bool


class Leave(_Frame, tag="leave"):
    order_id: OrderId


class Ping(_Frame, tag="ping"):
    pass


ClientMessage = Join | Send | Propose | Answer | Typing | Read | Presence | Leave | Ping
decode_client = msgspec.json.Decoder(ClientMessage).decode


# --- shared payloads ----------------------------------------------------------------------


class ShopperName(msgspec.Struct, frozen=True):
    """The shopper (or a last_mile order's driver) as customers see them: a display name only."""

    name: str


class OrderSummary(msgspec.Struct, frozen=True, omit_defaults=True):
    status: str
    chat: str
    workflow: str
    shopper: ShopperName | None = None  # once one is assigned


# --- server -> client -----------------------------------------------------------------------


class Joined(_Frame, tag="joined"):
    order_id: str
    order: OrderSummary
    history: list[ChatMessage]
    last_seq: int
    # True when the client asked for messages after a seq this order no longer has (its
    # history was lost with a Redis that kept no data): what follows is not a full resume.
    history_lost: bool = False


class MessageFrame(_Frame, tag="message"):
    order_id: str
    message: ChatMessage


class Ack(_Frame, tag="ack"):
    client_id: str
    message: ChatMessage


class StatusFrame(_Frame, tag="status"):
    """The order moved, or its shopper was assigned or changed."""

    order_id: str
    status: str
    chat: str
    shopper: ShopperName | None = None


class Receipt(_Frame, tag="receipt"):
    order_id: str
    seq: int
    sms: str
    # On not_sent, undelivered and failed: why (policy.receipt_reasons); omitted when unknown.
    reason: str | None = None


class ProposalFrame(_Frame, tag="proposal"):
    """Proposal `seq` was answered: every participant hears it."""

    order_id: str
    seq: int
    answer: ProposalAnswer


class TypingFrame(_Frame, tag="typing"):
    order_id: str
    sender: str = msgspec.field(name="from")


class ReadFrame(_Frame, tag="read"):
    order_id: str
    by: str
    seq: int


class ErrorFrame(_Frame, tag="error"):
    code: ErrorCode
    message: str
    client_id: str | None = None
    retry_after_ms: int | None = None  # with `overloaded`: when to send again


class Pong(_Frame, tag="pong"):
    pass


ServerMessage = (
    Joined | MessageFrame | Ack | StatusFrame | Receipt | ProposalFrame | TypingFrame | ReadFrame | ErrorFrame | Pong
)
encode = msgspec.json.Encoder().encode
decode_server = msgspec.json.Decoder(ServerMessage).decode


class _SeqOnly(msgspec.Struct, frozen=True):
    seq: int
    sender: str = msgspec.field(name="from")


class ChannelHeader(msgspec.Struct, frozen=True):
    """The fields of a frame on an order channel that a node needs to route it to sockets:
    decoded once per frame per node, whatever the number of sockets."""

    type: str
    order_id: str
    message: _SeqOnly | None = None
    sender: str | None = msgspec.field(default=None, name="from")
    by: str | None = None


decode_header = msgspec.json.Decoder(ChannelHeader).decode
