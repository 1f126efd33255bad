"""InboundPhotos: a customer's MMS, from the webhook to the chat (contract section 10).

The webhook is answered at once; the MMS becomes a durable job (so a node that dies leaves it
to another). Its first run fetches the photos, waiting at most until 10 s after the webhook,
then stores the message with the text and the photos fetched by then. A photo still missing
is tried again, with backoff, for an hour from the webhook; when it arrives it is a follow-up
customer message carrying only that photo, and one that never arrives (or can never be taken:
another host, too large, not an image) is announced by a system message. Nothing stored is
ever rewritten. Each message has a client_id derived from the MessageSid, so a job that runs
twice (a node died before settling it) stores nothing twice."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import StrEnum

import msgspec

from gateway.backoff import backoff
from gateway.chat import Chat
from gateway.jobs.base import Job, JobQueue
from gateway.jobs.worker import Retry
from gateway.media.checks import declared_type, sniff
from gateway.media.photos import MediaTooLarge, Photos, UnsupportedMedia
from gateway.policy.chat import Role, Via
from gateway.sms.base import FetchFailed, InboundSMS, MediaSource
from gateway.store.base import OrderNotFound, OrderStore
from gateway.store.records import MediaRef, OrderRecord

log = logging.getLogger("gateway.mms")

KIND = "mms"
DEADLINE = 10.0  # seconds from the webhook to the message, whatever has arrived by then
RETRY_FOR = 3600.0  # a photo still missing is tried this long from the webhook
LATE_FETCH_TIMEOUT = 30.0  # one attempt at a late photo
LOST = "A photo the customer sent by text could not be received."


class PhotoState(StrEnum):
    PENDING = "pending"  # not fetched yet
    STORED = "stored"  # fetched and stored, not yet in a message
    SHOWN = "shown"  # in a message
    LOST = "lost"  # will never arrive; not yet announced
    ANNOUNCED = "announced"  # its loss is in a system message


class PhotoIn(msgspec.Struct, kw_only=True):
    url: str
    content_type: str = ""
    state: PhotoState = PhotoState.PENDING
    media_id: str | None = None
    stored_type: str | None = None


class MMSJob(msgspec.Struct, kw_only=True):
    order_id: str
    sid: str
    text: str
    received_at: float
    photos: list[PhotoIn]
    posted: bool = False  # the message with the text (and the photos in by the deadline) is stored


_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(MMSJob).decode


class InboundPhotos:
    def __init__(
        self,
        store: OrderStore,
        chat: Chat,
        photos: Photos,
        source: MediaSource,
        jobs: JobQueue,
        max_bytes: int,
        *,
        clock: Callable[[], float] = time.time,
        on_put: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._chat = chat
        self._photos = photos
        self._source = source
        self._jobs = jobs
        self._max_bytes = max_bytes
        self._clock = clock
        self._on_put = on_put  # rings this node's MMS Worker

    async def receive(self, order: OrderRecord, sms: InboundSMS, text: str) -> None:
        """Queues an MMS (its `text` and photos) to join `order`'s chat; returns at once."""
        now = self._clock()
        job = MMSJob(
            order_id=order.id, sid=sms.sid, text=text, received_at=now,
            photos=[PhotoIn(url=m.url, content_type=m.content_type) for m in sms.media],
        )
        await self._jobs.put(Job(id=f"mms:{sms.sid}", kind=KIND, payload=_encode(job), first_at=now), now)
        self._on_put()

    async def handle(self, job: Job) -> Retry | None:
        """The worker's handler: fetch what is missing, then store what is due."""
        mms = _decode(job.payload)
        order = await self._store.get_order(mms.order_id)
        if order is None:
            return None  # purged meanwhile: nothing to add to
        pending = [photo for photo in mms.photos if photo.state is PhotoState.PENDING]
        window = mms.received_at + DEADLINE - self._clock() if not mms.posted else LATE_FETCH_TIMEOUT
        if pending and window > 0:
            await self._fetch_all(order.id, pending, window)
        now = self._clock()
        if now - mms.received_at >= RETRY_FOR:
            for photo in mms.photos:
                if photo.state is PhotoState.PENDING:
                    photo.state = PhotoState.LOST
        still_pending = any(photo.state is PhotoState.PENDING for photo in mms.photos)
        try:
            if not mms.posted and (not still_pending or now >= mms.received_at + DEADLINE):
                await self._post_message(order, mms)
            if mms.posted:
                await self._post_late(order, mms)
        except OrderNotFound:
            return None
        if not still_pending:
            return None
        if not mms.posted:  # a quick failure inside the 10 s window: try again shortly
            after = min(1.0, max(0.2, mms.received_at + DEADLINE - now))
        else:
            after = backoff(job.attempts, 2.0, 300.0)
        return Retry(after=after, payload=_encode(mms))

    async def _fetch_all(self, order_id: str, photos: list[PhotoIn], timeout: float) -> None:
        tasks = [asyncio.create_task(self._fetch(order_id, photo)) for photo in photos]
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:  # still on its way at the deadline: the next attempt tries again
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _fetch(self, order_id: str, photo: PhotoIn) -> None:
        """One attempt at one photo; its state says how it went."""
        try:
            fetched = await self._source.fetch(photo.url, self._max_bytes)
        except FetchFailed as exc:
            log.warning("an MMS photo for order %s was not fetched (%s)", order_id, exc)
            if not exc.retryable:
                photo.state = PhotoState.LOST
            return
        # The type the bytes are, if the provider's header is vague (Twilio may say
        # application/octet-stream); they are checked against it either way.
        media_type = declared_type(fetched.content_type) or sniff(fetched.data[:12])
        if media_type is None:
            log.warning("an MMS photo for order %s is not an accepted image type", order_id)
            photo.state = PhotoState.LOST
            return
        try:
            stored = await self._photos.add(order_id, media_type, fetched.data)
        except (UnsupportedMedia, MediaTooLarge, OrderNotFound) as exc:
            log.warning("an MMS photo for order %s was refused (%s)", order_id, type(exc).__name__)
            photo.state = PhotoState.LOST
            return
        photo.state, photo.media_id, photo.stored_type = PhotoState.STORED, stored.id, stored.content_type

    def _ref(self, order: OrderRecord, photo: PhotoIn) -> MediaRef:
        assert photo.media_id is not None and photo.stored_type is not None
        return self._photos.ref_of(order, photo.media_id, photo.stored_type)

    async def _post_message(self, order: OrderRecord, mms: MMSJob) -> None:
        arrived = [photo for photo in mms.photos if photo.state is PhotoState.STORED]
        if mms.text.strip() or arrived:  # a photo-only MMS whose photos are all late waits for them
            media = [self._ref(order, photo) for photo in arrived] or None
            await self._chat.post(order, Role.CUSTOMER, Via.SMS, mms.text, f"mms:{mms.sid}", media=media)
        for photo in arrived:
            photo.state = PhotoState.SHOWN
        mms.posted = True

    async def _post_late(self, order: OrderRecord, mms: MMSJob) -> None:
        for index, photo in enumerate(mms.photos):
            if photo.state is PhotoState.STORED:
                media = [self._ref(order, photo)]
                await self._chat.post(order, Role.CUSTOMER, Via.SMS, "", f"mms:{mms.sid}:{index}", media=media)
                photo.state = PhotoState.SHOWN
            elif photo.state is PhotoState.LOST:
                await self._chat.post(order, Role.SYSTEM, Via.SMS, LOST, f"mms:{mms.sid}:{index}:lost")
                photo.state = PhotoState.ANNOUNCED
