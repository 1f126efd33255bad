"""The SMSTransport seam, and the texts that cross it."""

from __future__ import annotations

from typing import Protocol

import msgspec


class OutboundSMS(msgspec.Struct, frozen=True):
    to: str
    sender: str
    body: str
    status_callback: str | None = None  # where the provider reports delivery


class InboundSMS(msgspec.Struct, frozen=True):
    sid: str  # provider's message id: a repeat is a retry
    phone: str  # From: the customer
    sender: str  # To: our number
    body: str
    opt_out_type: str | None = None  # Twilio Advanced Opt-Out's classification


class Sent(msgspec.Struct, frozen=True):
    sid: str
    status: str  # provider status right after the send, e.g. "queued"


class SendFailed(Exception):
    """The provider refused or could not take a text. `retryable`: try again later (429, 5xx,
    network); otherwise it never will (4xx). `code` is the provider's error code."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class SMSTransport(Protocol):
    """Sends texts. Twilio in production, console in development, a recording fake in tests."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, message: OutboundSMS) -> Sent:
        """Raises SendFailed."""
        ...
