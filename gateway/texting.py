"""Texter: every text to a customer, from the moment it is decided to its last receipt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from gateway import templates
from gateway.backoff import backoff
from gateway.chatlog.base import ChatLog, Owes
from gateway.jobs.base import Job
from gateway.jobs.debts import TEXT, Debt, TextJob, decode_text_job, event_text_id, text_debt
from gateway.jobs.worker import Retry
from gateway.metrics import Metrics
from gateway.phones import mask
from gateway.policy.presence import Held, holds, on_held_text
from gateway.policy.receipt_reasons import failure_reason, not_sent_reason
from gateway.policy.receipts import SMSState
from gateway.settings import Settings
from gateway.sms.base import OutboundSMS, SendFailed, SMSTransport, StatusReport
from gateway.presence.base import Presence
from gateway.store.base import OrderStore
from gateway.store.records import OrderRecord, TextRef

log = logging.getLogger("gateway.texting")

KIND = TEXT
RETRY_FOR = 3600.0  # a text the provider keeps refusing with 429/5xx is given up after an hour
TEXT_REF_TTL = 7 * 86400
EARLY_STATUS_TTL = 600.0  # a status report whose send is not answered yet is kept this long
HOLD_CHECK = 1.0  # seconds between looks at a held text: a customer who looks away is texted this soon


class Texter:
    """Decides and sends texts. What a text is owed is decided where it is owed (`owes` for a
    shopper message, `event_debt` for a status text) and written, as a debt, in the same step
    as the message or the event (gateway/jobs/outbox.py); the job queue's worker on any node
    sends it (`handle`). Consent is checked again right before the provider call, so a STOP
    that lands while a text waits still stops it."""

    def __init__(
        self,
        settings: Settings,
        store: OrderStore,
        log: ChatLog,
        presence: Presence,
        transport: SMSTransport,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._log = log
        self._presence = presence
        self._transport = transport
        self._metrics = metrics
        self._clock = clock

    def _reason(self, order: OrderRecord) -> str | None:
        """Why this order's customer may not be texted, as far as its record says (no store)."""
        return not_sent_reason(
            self._settings.communications(order.retailer), order.consent, has_phone=bool(order.customer_phone)
        )

    async def _why_not(self, order: OrderRecord) -> str | None:
        """Why this customer may not be texted right now (its record, then its blocks)."""
        reason = self._reason(order)
        if reason is not None:
            return reason  # a block could only say no again: spare the store the question
        block = await self._store.block(order.customer_phone, order.sender)
        return not_sent_reason(
            self._settings.communications(order.retailer), order.consent,
            keyword_blocked=block.keyword, sender_blocked=block.sender,
        )

    async def owes(self, order: OrderRecord) -> Owes:
        """What a new shopper message owes: its text (queued, or held while the customer reads
        the page), or a not_sent receipt and why, which the chat log writes with the message
        in one step. The worker checks consent and blocks again when it sends."""
        reason = await self._why_not(order)
        if reason is not None:
            return Owes(SMSState.NOT_SENT, reason)
        fallback = self._settings.sms.chat_fallback_seconds
        if holds(fallback, await self._presence.present(order.id)):
            return Owes(SMSState.HELD, held_until=self._clock() + fallback)
        return Owes(SMSState.QUEUED)

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

    def event_debt(self, order: OrderRecord, event_name: str, event_id: str, status_url: str) -> Debt | None:
        """The status text an applied event owes, if the retailer's templates have one and the
        record says the customer may be texted; written with the event (Orders)."""
        retailer = order.retailer
        template = templates.template_for(
            event_name, self._settings.retailer_templates(retailer), self._settings.retailer_support(retailer)
        )
        if not template or self._reason(order) is not None:
            return None
        job = TextJob(order_id=order.id, body=self.render(order, template, status_url))
        return text_debt(job, event_text_id(order.id, event_id))

    async def handle(self, job: Job) -> Retry | None:
        """The worker's handler: one attempt at sending one queued text."""
        text = decode_text_job(job.payload)
        order = await self._store.get_order(text.order_id)
        if order is None:
            return None  # purged meanwhile
        if text.held_until is not None and text.seq is not None:  # held (contract section 9)
            now = self._clock()
            match await self._held(order.id, text.seq, now, text.held_until):
                case Held.READ_ON_PAGE:
                    await self._record(order.id, text.seq, SMSState.READ_ON_PAGE)  # never texted
                    return None
                case Held.HOLD:  # still on the page, still in the window: look again shortly
                    return Retry(after=min(HOLD_CHECK, max(0.0, text.held_until - now)))
                case Held.SEND:
                    pass  # consent first: a held text whose customer opted out is not_sent, never queued
        reason = await self._why_not(order)
        if reason is not None:
            await self._record(order.id, text.seq, SMSState.NOT_SENT, reason)
            return None
        if text.held_until is not None and text.seq is not None:
            await self._record(order.id, text.seq, SMSState.QUEUED)  # the hold is over: it goes now
        message = OutboundSMS(
            to=order.customer_phone, sender=order.sender, body=text.body, media_urls=tuple(text.media_urls),
            status_callback=f"{self._settings.gateway.public_base_url}/twilio/status",
        )
        try:
            sent = await self._transport.send(message)
        except SendFailed as exc:
            return await self._failed(order, text, job, exc)
        ref = TextRef(order_id=order.id, phone=order.customer_phone, sender=order.sender, seq=text.seq)
        early = await self._store.link_text(sent.sid, ref, TEXT_REF_TTL)
        await self._store.set_route(order.customer_phone, order.sender, order.id)
        await self._record(order.id, text.seq, sent.state)
        for report in early:  # its callbacks beat the API's answer: apply them now, in order
            await self._apply(ref, report)
        return None

    async def _held(self, order_id: str, seq: int, now: float, held_until: float) -> Held:
        read_upto = await self._presence.read_upto(order_id)
        return on_held_text(seq, read_upto, await self._presence.present(order_id), now, held_until)

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
        await self._record(order.id, text.seq, SMSState.FAILED, failure_reason(SMSState.FAILED, exc.code))
        return None

    async def on_status(self, report: StatusReport) -> None:
        """A provider's delivery report for one of our texts. One for a sid not linked yet
        (the API's answer is still on its way) is kept for EARLY_STATUS_TTL, on any node, and
        applied when the answer lands (`handle`); one for a sid never linked expires."""
        ref = await self._store.keep_status(report.sid, report, EARLY_STATUS_TTL)
        if ref is None:
            self._metrics.early_statuses.inc()
            return
        await self._apply(ref, report)

    async def _apply(self, ref: TextRef, report: StatusReport) -> None:
        if report.sender_blocked:
            await self._store.set_blocked(ref.phone, ref.sender, True)
        if report.state is not None:
            reason = failure_reason(report.state, report.error_code)
            await self._record(ref.order_id, ref.seq, report.state, reason)

    async def _record(self, order_id: str, seq: int | None, state: SMSState, reason: str | None = None) -> None:
        """A text reached `state`: a shopper message's state moves forward (and its sockets
        hear of it, with `reason`); a notification has no state to keep, only the count."""
        if seq is None:
            self._metrics.texts.labels(state).inc()
        elif await self._log.advance_text_state(order_id, seq, state, reason):
            self._metrics.texts.labels(state).inc()
