"""A text the provider refuses for now (429, 5xx, network) is retried for an hour, not lost."""

import msgspec
import pytest

from gateway.broker.memory import MemoryBroker
from gateway.jobs.base import Job
from gateway.jobs.worker import Retry
from gateway.metrics import Metrics
from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Status, Workflow
from gateway.settings import Settings
from gateway.sms.base import OutboundSMS, SendFailed, Sent
from gateway.chatlog.memory import MemoryChatLog
from gateway.channels import OrderChannels
from gateway.presence.memory import MemoryPresence
from gateway.store.memory import MemoryOrderStore
from gateway.store.records import OrderRecord
from gateway.texting import KIND, Texter, TextJob

pytestmark = pytest.mark.integration

QUEUED_AT = 1_000.0


class BusyProvider:
    """An SMSTransport whose provider keeps answering 503."""

    def __init__(self) -> None:
        self.attempts: list[OutboundSMS] = []

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, message: OutboundSMS) -> Sent:
        self.attempts.append(message)
        raise SendFailed("503 Service Unavailable", retryable=True)


async def attempt_after(seconds: float) -> tuple[Retry | None, Metrics, BusyProvider]:
    settings = msgspec.convert({"retailers": {"demo": {"api_key": "k"}}}, Settings)
    broker, provider = MemoryBroker(), BusyProvider()
    store = MemoryOrderStore(clock=lambda: QUEUED_AT)
    await store.create_order(OrderRecord(
        id="o1", retailer="demo", workflow=Workflow.DELIVERY, customer_phone="+15551230001",
        request_digest="d", status=Status.PICKING, consent=Consent(True, ConsentSource.ORDER),
        sender="+15005550006", created_at=QUEUED_AT,
    ))
    metrics = Metrics()
    texter = Texter(
        settings, store, MemoryChatLog(store, OrderChannels(broker)), MemoryPresence(store), provider, metrics,
        clock=lambda: QUEUED_AT + seconds,
    )
    job = Job(
        id="o1:message:1", kind=KIND, payload=msgspec.json.encode(TextJob(order_id="o1", body="hi", seq=1)),
        attempts=12, first_at=QUEUED_AT,
    )
    return await texter.handle(job), metrics, provider


@pytest.mark.parametrize("seconds", [1, 600, 3500])
async def test_a_refused_text_is_retried_within_the_hour(seconds):
    outcome, _, provider = await attempt_after(seconds)
    assert isinstance(outcome, Retry) and 0 < outcome.after <= 120
    assert len(provider.attempts) == 1


async def test_a_text_refused_for_over_an_hour_is_given_up_as_failed():
    outcome, metrics, _ = await attempt_after(3601)
    assert outcome is None
    assert metrics.registry.get_sample_value("gateway_texts_total", {"state": "failed"}) == 1.0
