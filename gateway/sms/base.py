"""The SMSTransport seam, and the texts that cross it."""

from __future__ import annotations

from typing import Protocol

import msgspec

from gateway.policy.receipts import SMSState


class OutboundSMS(msgspec.Struct, frozen=True):
    to: str
    sender: str
    body: str
    status_callback: str | None = None  # where the provider reports delivery
    media_urls: tuple[str, ...] = ()  # photos: an MMS, one public URL each


class InboundMedia(msgspec.Struct, frozen=True):
    """A photo of an inbound MMS, as the provider names it: fetched by a MediaSource."""

    url: str
    content_type: str = ""  # what the provider said; the bytes are checked all the same


class InboundSMS(msgspec.Struct, frozen=True):
    sid: str  # provider's message id: a repeat is a retry
    phone: str  # From: the customer
    sender: str  # To: our number
    body: str
    opt_out_type: str | None = None  # Twilio Advanced Opt-Out's classification
    media: tuple[InboundMedia, ...] = ()  # an MMS's photos


class Sent(msgspec.Struct, frozen=True):
    sid: str
    state: SMSState  # right after the send, e.g. queued


class StatusReport(msgspec.Struct, frozen=True):
    """A provider's delivery report for one of our texts, in the gateway's words."""

    sid: str
    state: SMSState | None  # None: a provider status the gateway does not report
    sender_blocked: bool = False  # the carrier refuses this sender for this phone until START
    error_code: int | None = None  # the provider's, for the record


class SendFailed(Exception):
    """The provider refused or could not take a text. `retryable`: try again later (429, 5xx,
    network); otherwise it never will (4xx). `code` is the provider's error code;
    `sender_blocked`: the phone has opted out of this sender (it stays so until START)."""

    def __init__(
        self, message: str, *, retryable: bool, code: int | None = None, sender_blocked: bool = False
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.sender_blocked = sender_blocked


class SMSTransport(Protocol):
    """Sends texts. Twilio in production, console in development, a recording fake in tests."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, message: OutboundSMS) -> Sent:
        """Raises SendFailed."""
        ...


class Fetched(msgspec.Struct, frozen=True):
    content_type: str
    data: bytes


class FetchFailed(Exception):
    """A photo of an inbound MMS could not be fetched. `retryable`: it may come later (network,
    429, 5xx, 404 while the provider stores it); otherwise it never will (a host that is not
    the provider's, too large, refused)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class MediaSource(Protocol):
    """Where an inbound MMS's photos are fetched from: Twilio's API, or /dev's phone."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def fetch(self, url: str, max_bytes: int) -> Fetched:
        """The photo at `url`, at most `max_bytes` of it. Raises FetchFailed."""
        ...
