"""HTTP API bodies (contract section 4): what comes in and what goes out, as msgspec Structs."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from gateway.messages import ChatMessage
from gateway.policy.consent import ConsentSource
from gateway.policy.lifecycle import Workflow

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"  # order and shopper ids: they go into URLs and keys
SHOPPER_ID = re.compile(_ID)
OrderId = Annotated[str, msgspec.Meta(pattern=_ID)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class _In(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class Customer(_In):
    phone: str
    name: Annotated[str, msgspec.Meta(max_length=128)] | None = None


class CreateOrder(_In):
    id: OrderId
    workflow: Workflow
    customer: Customer
    sms_opt_in: bool | None = None
    locale: Annotated[str, msgspec.Meta(max_length=35)] | None = None


class ShopperIn(_In):
    id: Annotated[str, msgspec.Meta(pattern=_ID)]
    name: Name


class PostEvent(_In):
    event_id: EventId
    event_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    occurred_at: str | None = None
    shopper: ShopperIn | None = None


class SetSMS(_In):
    opt_in: bool


class SMSView(msgspec.Struct, frozen=True):
    opt_in: bool
    source: str


class ShopperView(msgspec.Struct, frozen=True):
    id: str
    name: str


class OrderView(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    retailer: str
    workflow: str
    status: str
    chat: str
    sms: SMSView
    customer_token: str
    status_page_url: str
    shopper: ShopperView | None = None


class EventResult(msgspec.Struct, frozen=True):
    applied: bool
    status: str


class MessagesPage(msgspec.Struct, frozen=True):
    messages: list[ChatMessage]
    last_seq: int


class ShopperToken(msgspec.Struct, frozen=True):
    token: str
    expires_at: str


class ConsentLogEntry(msgspec.Struct, frozen=True):
    at: Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]  # RFC 3339, UTC
    opt_in: bool
    source: ConsentSource


class ConsentLog(msgspec.Struct, frozen=True):
    """GET /v1/orders/{id}/consent: consent now, and every change since the order was created."""

    opt_in: bool
    source: ConsentSource
    changes: list[ConsentLogEntry]


class MediaUploaded(msgspec.Struct, frozen=True):
    """A photo stored (contract section 10): its id for `send`, its type, its size as stored."""

    media_id: str
    content_type: str
    bytes: int
