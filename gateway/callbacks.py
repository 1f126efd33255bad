"""Retailer event callbacks (contract section 7): a signed envelope per applied order event,
delivered at least once by the job Worker, retried with backoff for a day."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import msgspec

from gateway import __version__
from gateway.backoff import backoff
from gateway.jobs.base import Job, JobQueue
from gateway.jobs.debts import Debt
from gateway.jobs.worker import Retry
from gateway.metrics import Metrics
from gateway.settings import Settings
from gateway.store.records import EventRecord, OrderRecord

KIND = "callback"
SIGNATURE_HEADER = "X-Gateway-Signature"
# Ours, not httpx's: a receiver's logs and firewall rules can tell our callbacks apart.
USER_AGENT = f"gateway/{__version__} (+callbacks)"

log = logging.getLogger("gateway.callbacks")


class EventMetadata(msgspec.Struct, frozen=True):
    order_id: str
    retailer_id: str  # the retailer's config key
    status: str  # the order's status after the event
    workflow: str


class Envelope(msgspec.Struct, frozen=True):
    """The body POSTed to a retailer's callback_url, exactly as contract section 7 spells it."""

    event_id: str
    event_name: str  # "fulfillment.<event>"
    event_timestamp: str  # RFC 3339, UTC
    event_metadata: EventMetadata


class _Delivery(msgspec.Struct, frozen=True):
    """A callback job's payload: the exact bytes every attempt sends, and to whom."""

    retailer: str
    body: bytes


_encode_delivery = msgspec.msgpack.Encoder().encode
_decode_delivery = msgspec.msgpack.Decoder(_Delivery).decode


def envelope(order: OrderRecord, event: EventRecord) -> Envelope:
    return Envelope(
        event_id=event.event_id,
        event_name=f"fulfillment.{event.event_name}",
        event_timestamp=rfc3339(event.occurred_at, event.received_at),
        event_metadata=EventMetadata(
            order_id=order.id,
            retailer_id=order.retailer,
            status=str(order.status),
            workflow=str(order.workflow),
        ),
    )


def rfc3339(occurred_at: str | None, received_at: float) -> str:
    """`occurred_at` in UTC when it is an ISO 8601 time (naive means UTC), kept as sent when it
    is not; the time the event was received when it is absent."""
    if occurred_at is None:
        moment = datetime.fromtimestamp(received_at, UTC)
    else:
        try:
            moment = datetime.fromisoformat(occurred_at)
        except ValueError:
            return occurred_at
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def sign(body: bytes, secret: str) -> str:
    """The X-Gateway-Signature value: "sha256=" + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def job_id(order: OrderRecord, event: EventRecord) -> str:
    # Hashed so that ids containing ":" cannot collide; one event is one job.
    key = msgspec.json.encode([order.retailer, order.id, event.event_id])
    return f"{KIND}:{hashlib.sha256(key).hexdigest()[:32]}"


class Callbacks:
    """Turns applied order events into callback jobs and delivers them.

    `enqueue` only puts a job on the queue; `handle` runs in the job Worker (never inline), so
    a slow or dead receiver never slows chat. A 2xx ends a job; anything else is retried with
    exponential backoff and jitter, with the same body (so the same event_id), until
    `retry_for` seconds after the job was first put; then it is given up with a metric and one
    warning line."""

    def __init__(
        self,
        settings: Settings,
        queue: JobQueue,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
        http: httpx.AsyncClient | None = None,
        retry_for: float = 24 * 3600,
        backoff: Callable[[int], float] | None = None,
        on_put: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._queue = queue
        self._metrics = metrics
        self._clock = clock
        self._http = http
        self._owns_http = http is None
        self._retry_for = retry_for
        self._backoff = backoff or _default_backoff
        self._on_put = on_put  # rings this node's callback Worker

    async def start(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, connect=5.0), trust_env=False, follow_redirects=False
            )

    async def close(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def debt(self, order: OrderRecord, event: EventRecord) -> Debt | None:
        """The callback an applied event owes; None when the retailer has no callback_url.
        Orders writes it with the event, in the order's outbox (gateway/jobs/outbox.py)."""
        retailer = self._settings.retailers.get(order.retailer)
        if retailer is None or not retailer.callback_url:
            return None
        body = msgspec.json.encode(envelope(order, event))
        payload = _encode_delivery(_Delivery(retailer=order.retailer, body=body))
        return Debt(kind=KIND, id=job_id(order, event), payload=payload)

    async def enqueue(self, order: OrderRecord, event: EventRecord) -> None:
        """Queues the callback for an applied event, due now, straight on the job queue."""
        debt = self.debt(order, event)
        if debt is None:
            return
        now = self._clock()
        await self._queue.put(Job(id=debt.id, kind=KIND, payload=debt.payload, first_at=now), now)
        self._on_put()

    async def handle(self, job: Job) -> Retry | None:
        """One delivery attempt: None when it is done (delivered or given up), else a Retry."""
        if self._http is None:
            raise RuntimeError("Callbacks.handle called before start()")
        delivery = _decode_delivery(job.payload)
        retailer = self._settings.retailers.get(delivery.retailer)
        if retailer is None or not retailer.callback_url:
            # The config changed since the event: there is nowhere to deliver it any more.
            self._metrics.callbacks.labels(outcome="dropped").inc()
            log.warning(
                "callback %s dropped: retailer %s has no callback_url now", job.id, delivery.retailer
            )
            return None
        problem = await self._post(retailer.callback_url, delivery.body, retailer.callback_secret)
        if problem is None:
            self._metrics.callbacks.labels(outcome="delivered").inc()
            return None
        if self._clock() - job.first_at > self._retry_for:
            self._metrics.callbacks.labels(outcome="exhausted").inc()
            sent = msgspec.json.decode(delivery.body, type=Envelope)
            log.warning(
                "callback given up after %d attempts over %.0fs: order %s event %s retailer %s (%s)",
                job.attempts, self._clock() - job.first_at, sent.event_metadata.order_id,
                sent.event_id, delivery.retailer, problem, extra={"order_id": sent.event_metadata.order_id},
            )
            return None
        after = self._backoff(job.attempts)
        self._metrics.callbacks.labels(outcome="retried").inc()
        log.info(
            "callback %s to retailer %s failed (%s); attempt %d, next in %.1fs",
            job.id, delivery.retailer, problem, job.attempts, after,
        )
        return Retry(after=after)

    async def _post(self, url: str, body: bytes, secret: str) -> str | None:
        """None on a 2xx, else what went wrong, for the log."""
        assert self._http is not None
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(body, secret),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"


def _default_backoff(attempts: int) -> float:
    return backoff(attempts, base=1, cap=600)
