"""ConsoleTransport: texts go to the log and to an outbox the dev phone page shows."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import msgspec

from gateway.phones import mask
from gateway.policy.receipts import SMSState
from gateway.sms.base import FetchFailed, Fetched, OutboundSMS, Sent

log = logging.getLogger("gateway.sms")


class OutboxEntry(msgspec.Struct, frozen=True):
    n: int
    sid: str
    to: str
    sender: str
    body: str
    at: float
    media_urls: tuple[str, ...] = ()  # an MMS's photos


class ConsoleTransport:
    """For local development: every text is logged (numbers masked, length only) and kept in
    an in-memory outbox of the last `keep` texts, which /dev's phone reads."""

    def __init__(self, keep: int = 500) -> None:
        self.outbox: list[OutboxEntry] = []
        self._keep = keep
        self._counter = itertools.count(1)
        self._changed = asyncio.Condition()
        self._photos: dict[str, Fetched] = {}  # what /dev's phone attached to its MMS, by URL
        self._photo_counter = itertools.count(1)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def send(self, message: OutboundSMS) -> Sent:
        n = next(self._counter)
        entry = OutboxEntry(
            n=n, sid=f"SMconsole{n:023d}", to=message.to, sender=message.sender,
            body=message.body, at=time.time(), media_urls=message.media_urls,
        )
        log.info(
            "text to %s from %s (%d chars, %d photos)",
            mask(message.to), mask(message.sender), len(message.body), len(message.media_urls),
        )
        async with self._changed:
            self.outbox.append(entry)
            del self.outbox[: -self._keep]
            self._changed.notify_all()
        return Sent(sid=entry.sid, state=SMSState.DELIVERED)

    def since(self, n: int) -> list[OutboxEntry]:
        return [entry for entry in self.outbox if entry.n > n]

    async def wait_since(self, n: int, timeout: float) -> list[OutboxEntry]:
        """Texts after number `n`, waiting up to `timeout` for one to arrive (long poll)."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.since(n))), timeout)
            except TimeoutError:
                pass
            return self.since(n)

    # /dev's phone as an MMS media source

    def keep_photo(self, content_type: str, data: bytes) -> str:
        """Keeps a photo /dev's phone attaches to a text; returns the URL its MMS names."""
        url = f"console:photo/{next(self._photo_counter)}"
        self._photos[url] = Fetched(content_type=content_type, data=data)
        while len(self._photos) > self._keep:
            del self._photos[next(iter(self._photos))]  # the oldest
        return url

    async def fetch(self, url: str, max_bytes: int) -> Fetched:
        found = self._photos.get(url)
        if found is None:
            raise FetchFailed("expected a photo /dev's phone attached; this one is unknown", retryable=False)
        if len(found.data) > max_bytes:
            raise FetchFailed(f"expected a photo of at most {max_bytes} bytes", retryable=False)
        return found
