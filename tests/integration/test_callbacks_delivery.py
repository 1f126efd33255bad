"""Retailer callbacks delivered by a real Worker to a real HTTP receiver: signed, retried with
one event_id, given up visibly, and never holding up other deliveries."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

import gateway
from gateway.callbacks import KIND, Callbacks, envelope
from gateway.jobs.base import Job
from gateway.jobs.memory import MemoryJobQueue
from gateway.backoff import backoff
from gateway.jobs.worker import Doorbell, Retry, Worker
from gateway.metrics import Metrics
from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Status, Workflow
from gateway.settings import Settings
from gateway.store.records import EventRecord, OrderRecord
from support.callback_receiver import CallbackReceiver

pytestmark = pytest.mark.integration

PHONE = "+14155550123"
SECRET = "whsec_demo"


class SettlingJobQueue(MemoryJobQueue):
    """A MemoryJobQueue a test can await: `settled(n)` returns once n jobs are done."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: list[Job] = []
        self._changed = asyncio.Event()

    async def done(self, job: Job) -> None:
        await super().done(job)
        self.finished.append(job)
        self._changed.set()

    async def settled(self, n: int, timeout: float = 5.0) -> list[Job]:
        async def finished() -> None:
            while len(self.finished) < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(finished(), timeout)
        return self.finished[:n]


class StepClock:
    """Each reading is `step` seconds after the previous one, so a retry budget runs out after
    a known number of attempts without waiting for it."""

    def __init__(self, start: float, step: float) -> None:
        self.now = start - step
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def settings_for(receiver: CallbackReceiver) -> Settings:
    return msgspec.convert(
        {
            "retailers": {
                "demo": {"callback_url": f"{receiver.url}/demo", "callback_secret": SECRET},
                "slow": {"callback_url": f"{receiver.url}/slow", "callback_secret": SECRET},
                "quiet": {},
            }
        },
        Settings,
    )


def order(retailer: str = "demo", order_id: str = "A-1001") -> OrderRecord:
    return OrderRecord(
        id=order_id,
        retailer=retailer,
        workflow=Workflow.DELIVERY,
        customer_phone=PHONE,
        request_digest="d",
        status=Status.PICKING,
        consent=Consent(opt_in=True, source=ConsentSource.ORDER),
        sender="+15005550006",
        created_at=1_767_268_800.0,
    )


def event(event_id: str = "ev-1") -> EventRecord:
    return EventRecord(
        event_id=event_id, event_name="picking", occurred_at="2026-01-01T12:00:00Z",
        received_at=1_767_268_801.0, applied=True,
    )


class Rig:
    def __init__(self, receiver: CallbackReceiver, **options) -> None:
        self.metrics = Metrics()
        self.queue = SettlingJobQueue()
        due = Doorbell()
        self.callbacks = Callbacks(
            settings_for(receiver), self.queue, self.metrics, backoff=lambda attempts: 0.0, on_put=due.ring, **options
        )
        self.worker = Worker(self.queue, KIND, self.callbacks.handle, due, concurrency=8, poll=0.01)

    async def enqueue(self, order: OrderRecord, event: EventRecord) -> None:
        await self.callbacks.enqueue(order, event)

    def count(self, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value("gateway_callbacks_total", {"outcome": outcome})
        return value or 0.0


@pytest.fixture
async def rig_factory(callback_receiver: CallbackReceiver) -> AsyncIterator:
    rigs: list[Rig] = []

    async def make(**options) -> Rig:
        rig = Rig(callback_receiver, **options)
        await rig.callbacks.start()
        await rig.worker.start()
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.worker.close()
        await rig.callbacks.close()


@pytest.fixture
async def rig(rig_factory) -> Rig:
    return await rig_factory()


async def test_event_is_delivered_once_with_a_valid_signature(rig, callback_receiver):
    await rig.enqueue(order(), event())
    await rig.queue.settled(1)

    [request] = callback_receiver.requests
    assert request.path == "/demo"
    assert request.headers["content-type"] == "application/json"
    assert re.fullmatch(r"gateway/\S+ \(\+callbacks\)", request.headers["user-agent"])
    assert request.headers["user-agent"] == f"gateway/{gateway.__version__} (+callbacks)"
    assert callback_receiver.signature_is_valid(request, SECRET)
    assert not callback_receiver.signature_is_valid(request, "another secret")
    assert request.body == msgspec.json.encode(envelope(order(), event()))
    assert request.json()["event_name"] == "fulfillment.picking"
    assert rig.count("delivered") == 1


async def test_failing_receiver_gets_the_same_event_until_it_answers_2xx(rig, callback_receiver):
    callback_receiver.fail_next(2, status=503)
    await rig.enqueue(order(), event())
    await rig.queue.settled(1)

    requests = callback_receiver.requests
    assert [r.status for r in requests] == [503, 503, 204]
    assert {r.body for r in requests} == {requests[0].body}  # byte for byte, so one event_id
    assert requests[0].json()["event_id"] == "ev-1"
    assert all(callback_receiver.signature_is_valid(r, SECRET) for r in requests)
    assert (rig.count("retried"), rig.count("delivered")) == (2, 1)


async def test_redirects_and_client_errors_are_retried_too(rig, callback_receiver):
    callback_receiver.fail_next(1, status=302)
    callback_receiver.fail_next(1, status=400)
    await rig.enqueue(order(), event())
    await rig.queue.settled(1)

    assert [r.status for r in callback_receiver.requests] == [302, 400, 204]


async def test_callbacks_are_given_up_after_the_retry_budget(rig_factory, callback_receiver, caplog):
    caplog.set_level(logging.INFO, logger="gateway.callbacks")
    # enqueue reads the clock at 1000; attempts fail at 1010, 1020 (within 25s) and 1030 (not).
    rig = await rig_factory(clock=StepClock(start=1000, step=10), retry_for=25)
    callback_receiver.fail_next(100)
    await rig.enqueue(order(), event())
    await rig.queue.settled(1)

    assert len(callback_receiver.requests) == 3
    assert (rig.count("retried"), rig.count("exhausted"), rig.count("delivered")) == (2, 1, 0)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "order A-1001" in line and "event ev-1" in line and "retailer demo" in line
    assert PHONE not in caplog.text and PHONE[-4:] not in caplog.text
    assert rig.queue.pending(KIND) == 0


async def test_retailer_without_callback_url_gets_nothing_queued(rig):
    await rig.callbacks.enqueue(order(retailer="quiet"), event())
    assert rig.queue.pending(KIND) == 0


async def test_the_same_event_queued_twice_is_one_job(callback_receiver):
    queue = MemoryJobQueue()  # no worker: the jobs stay queued for counting
    callbacks = Callbacks(settings_for(callback_receiver), queue, Metrics())
    await callbacks.enqueue(order(), event())
    await callbacks.enqueue(order(), event())
    await callbacks.enqueue(order(), event("ev-2"))
    assert queue.pending(KIND) == 2


async def test_a_hanging_receiver_does_not_hold_up_other_callbacks(rig, callback_receiver):
    callback_receiver.hold("/slow")
    await rig.enqueue(order(retailer="slow", order_id="S-1"), event())
    await callback_receiver.wait_for(1)  # the slow delivery is in flight and stuck

    await rig.enqueue(order(), event())
    [job] = await rig.queue.settled(1)

    assert msgspec.msgpack.decode(job.payload)["retailer"] == "demo"
    assert [r.path for r in callback_receiver.requests] == ["/slow", "/demo"]
    assert rig.queue.pending(KIND) == 1  # the slow one is still out


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/callbacks"


async def test_unreachable_receiver_is_retried_with_growing_backoff():
    settings = msgspec.convert(
        {"retailers": {"demo": {"callback_url": closed_port_url(), "callback_secret": SECRET}}}, Settings
    )
    queue, metrics = MemoryJobQueue(), Metrics()
    callbacks = Callbacks(settings, queue, metrics)  # the real backoff: base 1s, cap 600s
    await callbacks.start()
    try:
        await callbacks.enqueue(order(), event())
        [job] = await queue.claim(KIND, now=float("inf"), lease=60, limit=1)
        first = await callbacks.handle(msgspec.structs.replace(job, attempts=1))
        late = await callbacks.handle(msgspec.structs.replace(job, attempts=30))
    finally:
        await callbacks.close()
    assert isinstance(first, Retry) and 0.5 <= first.after <= 2
    assert isinstance(late, Retry) and 0.5 <= late.after <= 600
    assert metrics.registry.get_sample_value("gateway_callbacks_total", {"outcome": "retried"}) == 2


async def test_a_receiver_that_times_out_is_retried(callback_receiver):
    callback_receiver.hold("/slow")
    queue, metrics = MemoryJobQueue(), Metrics()
    async with httpx.AsyncClient(timeout=0.2, trust_env=False) as http:
        callbacks = Callbacks(settings_for(callback_receiver), queue, metrics, http=http)
        await callbacks.start()
        await callbacks.enqueue(order(retailer="slow"), event())
        [job] = await queue.claim(KIND, now=float("inf"), lease=60, limit=1)
        outcome = await callbacks.handle(msgspec.structs.replace(job, attempts=1))
        await callbacks.close()
        assert not http.is_closed  # an injected client belongs to its owner
    assert isinstance(outcome, Retry)
    assert metrics.registry.get_sample_value("gateway_callbacks_total", {"outcome": "retried"}) == 1


class _Highest(random.Random):
    """A random source that always draws the top of the range: backoff's ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2), (2, 4), (5, 32), (9, 512), (10, 600), (30, 600)])
def test_callback_backoff_doubles_up_to_ten_minutes(attempt, ceiling):
    assert backoff(attempt, base=1, cap=600, rng=_Highest()) == ceiling


async def test_a_failing_receiver_is_still_retried_an_hour_on_with_the_default_budget():
    settings = msgspec.convert(
        {"retailers": {"demo": {"callback_url": closed_port_url(), "callback_secret": SECRET}}}, Settings
    )
    now = [1_000.0]
    queue = MemoryJobQueue()
    callbacks = Callbacks(settings, queue, Metrics(), clock=lambda: now[0])  # the default budget
    await callbacks.start()
    try:
        await callbacks.enqueue(order(), event())
        [job] = await queue.claim(KIND, now=now[0], lease=60, limit=1)
        now[0] += 3600 + 60  # the contract: retried for at least an hour
        still = await callbacks.handle(msgspec.structs.replace(job, attempts=20))
    finally:
        await callbacks.close()
    assert isinstance(still, Retry)
