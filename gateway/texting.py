"""Texter: every text to a customer, from the moment it is decided to its last receipt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import msgspec

from gateway import templates
from gateway.backoff import backoff
from gateway.chatlog.base import ChatLog
from gateway.jobs.base import Job, JobQueue
from gateway.jobs.worker import Retry
from gateway.metrics import Metrics
from gateway.phones import mask
from gateway.policy.consent import may_text
from gateway.policy.receipts import SMSState
from gateway.settings import Settings
from gateway.sms.base import OutboundSMS, SendFailed, SMSTransport, StatusReport
from gateway.store.base import OrderStore
from gateway.store.records import MediaRef, OrderRecord, TextRef

log = logging.getLogger("gateway.texting")

KIND = "text"
RETRY_FOR = 3600.0  # a text the provider keeps refusing with 429/5xx is given up after an hour
TEXT_REF_TTL = 7 * 86400


class TextJob(msgspec.Struct, frozen=True):
    order_id: str
    body: str
    seq: int | None = None  # the shopper message this carries; None for a notification
    media_urls: list[str] = []  # its photos' signed URLs: sent as MMS


_encode = msgspec.json.encode
_decode_job = msgspec.json.Decoder(TextJob).decode


class Texter:
    """Decides, queues and sends texts. A text is put on the durable job queue and sent by
    whichever node's worker claims it; consent is checked again right before the provider
    call, so a STOP that lands while a text waits still stops it."""

    def __init__(
        self,
        settings: Settings,
        store: OrderStore,
        log: ChatLog,
        queue: JobQueue,
        transport: SMSTransport,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
        on_put: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._log = log
        self._queue = queue
        self._transport = transport
        self._metrics = metrics
        self._clock = clock
        self._on_put = on_put  # rings this node's text Worker

    async def _may_text(self, order: OrderRecord) -> bool:
        communications = self._settings.communications(order.retailer)
        if not may_text(communications, order.consent, blocked=False):
            return False  # a block could only say no again: spare the store the question
        block = await self._store.block(order.customer_phone, order.sender)
        return may_text(communications, order.consent, block.any)

    def render(self, order: OrderRecord, template: str, status_url: str) -> str:
        values = {
            "retailer": self._settings.retailer_name(order.retailer),
            "shopper": order.shopper.name if order.shopper else templates.SHOPPER_FALLBACK,
            "status_url": status_url,
            "order_id": order.id,
            "sender_number": order.sender,
            "support": self._settings.retailer_support(order.retailer),
        }
        return templates.render(template, values)[: templates.MAX_SMS]

    async def notify(self, order: OrderRecord, event_name: str, event_id: str, status_url: str) -> None:
        """Queues the status text for an applied event, if the retailer's templates have one."""
        retailer = order.retailer
        template = templates.template_for(
            event_name, self._settings.retailer_templates(retailer), self._settings.retailer_support(retailer)
        )
        if not template or not await self._may_text(order):
            return
        job = TextJob(order_id=order.id, body=self.render(order, template, status_url))
        await self._put(f"{order.id}:event:{event_id}", job)

    async def relay(self, order: OrderRecord, seq: int, text: str, media: list[MediaRef] | None = None) -> None:
        """Queues a shopper's chat message as a text (an MMS with its photos) to the customer,
        or reports not_sent."""
        if not await self._may_text(order):
            await self._set_state(order.id, seq, SMSState.NOT_SENT)
            return
        urls = [ref.url for ref in media or ()]
        await self._put(f"{order.id}:message:{seq}", TextJob(order_id=order.id, body=text, seq=seq, media_urls=urls))
        await self._set_state(order.id, seq, SMSState.QUEUED)

    async def _put(self, job_id: str, job: TextJob) -> None:
        now = self._clock()
        await self._queue.put(Job(id=job_id, kind=KIND, payload=_encode(job), first_at=now), now)
        self._on_put()

    async def handle(self, job: Job) -> Retry | None:
        """The worker's handler: one attempt at sending one queued text."""
        text = _decode_job(job.payload)
        order = await self._store.get_order(text.order_id)
        if order is None:
            return None  # purged meanwhile
        if not await self._may_text(order):
            if text.seq is not None:
                await self._set_state(order.id, text.seq, SMSState.NOT_SENT)
            return None
        message = OutboundSMS(
            to=order.customer_phone, sender=order.sender, body=text.body, media_urls=tuple(text.media_urls),
            status_callback=f"{self._settings.gateway.public_base_url}/twilio/status",
        )
        try:
            sent = await self._transport.send(message)
        except SendFailed as exc:
            return await self._failed(order, text, job, exc)
        await self._store.link_text(
            sent.sid,
            TextRef(order_id=order.id, phone=order.customer_phone, sender=order.sender, seq=text.seq),
            TEXT_REF_TTL,
        )
        await self._store.set_route(order.customer_phone, order.sender, order.id)
        await self._record(order.id, text.seq, sent.state)
        return None

    async def _failed(self, order: OrderRecord, text: TextJob, job: Job, exc: SendFailed) -> Retry | None:
        if exc.retryable and self._clock() - job.first_at < RETRY_FOR:
            log.warning("text for order %s refused for now (%s); retrying", order.id, exc, extra={"order_id": order.id})
            return Retry(after=backoff(job.attempts, 1.0, 120.0))
        log.warning(
            "text for order %s to %s failed for good (code %s): %s",
            order.id, mask(order.customer_phone), exc.code, exc, extra={"order_id": order.id},
        )
        if exc.sender_blocked:
            await self._store.set_blocked(order.customer_phone, order.sender, True)
        await self._record(order.id, text.seq, SMSState.FAILED)
        return None

    async def on_status(self, report: StatusReport) -> None:
        """A provider's delivery report for one of our texts."""
        ref = await self._store.text_ref(report.sid)
        if ref is None:
            return
        if report.sender_blocked:
            await self._store.set_blocked(ref.phone, ref.sender, True)
        if report.state is not None:
            await self._record(ref.order_id, ref.seq, report.state)

    async def _record(self, order_id: str, seq: int | None, state: SMSState) -> None:
        """A text reached `state`: a shopper message's state moves (and its sockets hear of
        it); a notification has no state to keep, only the count."""
        if seq is None:
            self._metrics.texts.labels(state).inc()
        else:
            await self._set_state(order_id, seq, state)

    async def _set_state(self, order_id: str, seq: int, state: SMSState) -> None:
        """Moves a shopper message's SMS state forward; the chat log tells the order's sockets."""
        if await self._log.advance_text_state(order_id, seq, state):
            self._metrics.texts.labels(state).inc()
