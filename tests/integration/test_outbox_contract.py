"""What an order owes is written with the change that owes it (gateway/jobs/outbox.py), against
the memory and the Redis implementations: a chat message and its text, an event and its jobs
and expiry, and status reports that beat the send's answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec
import pytest

from gateway import messages
from gateway.broker.base import Broker
from gateway.broker.cluster import RedisClusterBroker
from gateway.broker.memory import MemoryBroker
from gateway.broker.redis import RedisBroker
from gateway.channels import OrderChannels, order_channel
from gateway.chatlog.base import ChatLog, Owes
from gateway.chatlog.memory import MemoryChatLog
from gateway.chatlog.redis import RedisChatLog
from gateway.jobs.base import JobQueue
from gateway.jobs.debts import Debt, decode_text_job, message_text_debt
from gateway.jobs.memory import MemoryJobQueue
from gateway.jobs.outbox import GRACE, LEASE, Drainer, Outbox
from gateway.jobs.redis import RedisJobQueue
from gateway.jobs.redis_outbox import RedisOutbox
from gateway.policy.chat import Role, Via
from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Workflow
from gateway.policy.receipts import SMSState
from gateway.redis_connection import client as redis_client
from gateway.sms.base import StatusReport
from gateway.store.base import OrderStore, Owing
from gateway.store.keys import OrderKeys
from gateway.store.memory import MemoryOrderStore
from gateway.store.records import ChatMessage, MediaRef, OrderRecord, Proposal, TextRef
from gateway.store.redis import RedisOrderStore
from support.redis_cluster import started_cluster_client

pytestmark = pytest.mark.integration

TIMEOUT = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    store: OrderStore
    log: ChatLog
    outbox: Outbox
    queue: JobQueue
    drainer: Drainer
    broker: Broker
    clock: Clock
    redis: object | None

    async def queued(self, order_id: str, kind: str = "text") -> list[str]:
        """Ids of this order's jobs of `kind` due now (claimed, so each is seen once; the
        Redis of the suite is shared, so other tests' orders may owe things too)."""
        jobs = await self.queue.claim(kind, self.clock.now + 1, 60, 1000)
        return sorted(job.id for job in jobs if job.id.startswith(f"{order_id}:"))


@pytest.fixture(params=["memory", "redis", "cluster"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    clock = Clock()
    if request.param == "memory":
        broker = MemoryBroker()
        store = MemoryOrderStore(clock=clock)
        queue = MemoryJobQueue()
        yield Rig(
            store=store, log=MemoryChatLog(store, OrderChannels(broker)), outbox=store.outbox, queue=queue,
            drainer=Drainer(store.outbox, queue, {}, clock=clock), broker=broker, clock=clock, redis=None,
        )
        return
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        node = await started_cluster_client(url)
        broker: Broker = RedisClusterBroker(url, node)
    else:
        url = request.getfixturevalue("redis_url")
        node = redis_client(url)
        broker = RedisBroker(url, node)
    await broker.start()
    outbox = RedisOutbox(node)
    queue = RedisJobQueue(node, prefix=f"jobs-{uuid.uuid4().hex}")  # its own queue in the shared server
    yield Rig(
        store=RedisOrderStore(node), log=RedisChatLog(node), outbox=outbox, queue=queue,
        drainer=Drainer(outbox, queue, {}, clock=clock), broker=broker, clock=clock, redis=node,
    )
    await broker.close()
    await node.aclose()


async def new_order(rig: Rig) -> OrderRecord:
    order = OrderRecord(
        id=f"o-{uuid.uuid4().hex}", retailer="demo", workflow=Workflow.DELIVERY,
        customer_phone=f"+1555{uuid.uuid4().int % 10**7:07d}", request_digest="d",
        consent=Consent(opt_in=True, source=ConsentSource.ORDER), sender="+15005550006", created_at=rig.clock.now,
    )
    await rig.store.create_order(order)
    return order


def shopper(text: str, client_id: str) -> ChatMessage:
    return ChatMessage(
        seq=0, id=uuid.uuid4().hex, sender=Role.SHOPPER, via=Via.APP, text=text,
        at="2026-05-01T12:00:00.000Z", client_id=client_id,
    )


async def test_a_shopper_message_its_text_and_its_receipt_are_one_step(rig: Rig) -> None:
    order = await new_order(rig)
    async with rig.broker.subscribe(order_channel(order.id)) as payloads:
        stored, created = await rig.log.append(order.id, shopper("Oat milk?", "c1"), Owes(SMSState.QUEUED))
        frames = [messages.decode_server(await asyncio.wait_for(anext(payloads), TIMEOUT)) for _ in range(2)]
    assert created and stored.seq == 1
    # Before anyone drained it, the text is owed: a node dying right after the ack loses nothing.
    assert await rig.outbox.owed(order.id) == [message_text_debt(order.id, "Oat milk?", 1)]
    assert frames == [
        messages.MessageFrame(order_id=order.id, message=stored),
        messages.Receipt(order_id=order.id, seq=1, sms="queued"),
    ]


async def test_a_message_with_photos_owes_an_mms_of_them(rig: Rig) -> None:
    order = await new_order(rig)
    photos = [MediaRef(id="m1", content_type="image/png", url="https://gw.example/media/m1?sig=abc")]
    message = msgspec.structs.replace(shopper("Is this the one?", "c1"), media=photos)
    stored, _ = await rig.log.append(order.id, message, Owes(SMSState.QUEUED))
    [debt] = await rig.outbox.owed(order.id)
    assert debt == message_text_debt(order.id, "Is this the one?", stored.seq, photos)
    assert decode_text_job(debt.payload).media_urls == ["https://gw.example/media/m1?sig=abc"]


async def test_a_proposal_owes_a_text_in_its_own_words(rig: Rig) -> None:
    order = await new_order(rig)
    offer = Proposal(item="Oat milk", options=["Almond milk"])
    message = msgspec.structs.replace(shopper("", "c1"), proposal=offer)
    wording = "Alex: Oat milk is out. Reply 1 for Almond milk, or 0 for no replacement."
    stored, _ = await rig.log.append(order.id, message, Owes(SMSState.QUEUED, body=wording))
    assert await rig.outbox.owed(order.id) == [message_text_debt(order.id, wording, stored.seq)]
    assert stored.text == "" and stored.proposal == offer  # the message keeps its own words


async def test_a_retried_client_id_owes_no_second_text_and_drops_none(rig: Rig) -> None:
    order = await new_order(rig)
    await rig.log.append(order.id, shopper("first", "c0"), Owes(SMSState.QUEUED))
    await rig.log.append(order.id, shopper("second", "c1"), Owes(SMSState.QUEUED))
    again, created = await rig.log.append(order.id, shopper("second", "c1"), Owes(SMSState.QUEUED))
    assert (again.seq, created) == (2, False)
    assert sorted(debt.id for debt in await rig.outbox.owed(order.id)) == [f"{order.id}:message:1", f"{order.id}:message:2"]
    await rig.drainer.drain(order.id)  # what a retry does: queue whatever the order still owes
    await rig.drainer.drain(order.id)
    await rig.log.append(order.id, shopper("second", "c1"), Owes(SMSState.QUEUED))
    assert await rig.outbox.owed(order.id) == []
    assert await rig.queued(order.id) == [f"{order.id}:message:1", f"{order.id}:message:2"]


async def test_a_message_that_may_not_be_texted_owes_nothing_and_says_why(rig: Rig) -> None:
    order = await new_order(rig)
    async with rig.broker.subscribe(order_channel(order.id)) as payloads:
        await rig.log.append(order.id, shopper("hi", "c1"), Owes(SMSState.NOT_SENT, "no_consent"))
        frames = [messages.decode_server(await asyncio.wait_for(anext(payloads), TIMEOUT)) for _ in range(2)]
    assert frames[1] == messages.Receipt(order_id=order.id, seq=1, sms="not_sent", reason="no_consent")
    assert await rig.outbox.owed(order.id) == []
    # The receipt is stored too: the text's state moves forward from not_sent only to nothing.
    assert not await rig.log.advance_text_state(order.id, 1, SMSState.SENT)


async def test_a_debt_whose_writer_died_is_queued_by_any_drainer_after_the_grace(rig: Rig) -> None:
    order = await new_order(rig)
    await rig.log.append(order.id, shopper("Bananas are green", "c1"), Owes(SMSState.QUEUED))
    # Its writer died before draining it. Within the grace, the writer still may: left alone.
    await rig.drainer.sweep()
    assert len(await rig.outbox.owed(order.id)) == 1
    rig.clock.now += GRACE + 1
    while await rig.drainer.sweep():  # other tests' orders may be marked in a shared Redis
        pass
    assert await rig.outbox.owed(order.id) == []
    assert await rig.queued(order.id) == [f"{order.id}:message:1"]
    rig.clock.now += LEASE + 1
    await rig.drainer.sweep()
    assert await rig.queued(order.id) == []  # queued once, and the order is no longer marked


async def test_a_debt_queued_twice_is_one_job(rig: Rig) -> None:
    order = await new_order(rig)
    debt = message_text_debt(order.id, "hi", 1)
    await rig.drainer.drain(order.id, [debt])
    claimed = await rig.queue.claim("text", rig.clock.now + 1, 60, 10)
    await rig.drainer.drain(order.id, [debt])  # while the first is leased: it stays leased
    assert [job.id for job in claimed] == [debt.id]
    assert await rig.queue.claim("text", rig.clock.now + 1, 60, 10) == []


async def test_an_update_writes_what_it_owes_and_the_orders_expiry_with_it(rig: Rig) -> None:
    order = await new_order(rig)
    debts = (Debt(kind="text", id=f"{order.id}:event:e1", payload=b"{}"), Debt(kind="callback", id="cb-1", payload=b"\x00\n"))

    def change(record: OrderRecord):
        return record, "written"

    result = await rig.store.update_order(order.id, change, lambda _: Owing(debts=debts, expire_after=3600))
    assert result == "written"
    assert sorted(await rig.outbox.owed(order.id), key=lambda d: d.id) == sorted(debts, key=lambda d: d.id)
    if rig.redis is not None:
        keys = OrderKeys(order.id)
        assert 0 < await rig.redis.pttl(keys.rec) <= 3_600_000
        assert await rig.redis.pexpiretime(keys.owed) == await rig.redis.pexpiretime(keys.rec)  # one instant
    else:
        rig.clock.now += 3601
        assert await rig.store.get_order(order.id) is None
        assert await rig.outbox.owed(order.id) == []


async def test_an_update_that_writes_nothing_owes_nothing(rig: Rig) -> None:
    order = await new_order(rig)
    debt = Debt(kind="text", id=f"{order.id}:event:e1", payload=b"{}")
    await rig.store.update_order(order.id, lambda record: (None, None), lambda _: Owing(debts=(debt,)))
    assert await rig.outbox.owed(order.id) == []


async def test_a_status_report_that_beats_the_sends_answer_is_handed_to_the_link(rig: Rig) -> None:
    sid = f"SM{uuid.uuid4().hex}"
    ref = TextRef(order_id="o-1", phone="+15551234567", sender="+15005550006", seq=3)
    sent = StatusReport(sid=sid, state=SMSState.SENT)
    delivered = StatusReport(sid=sid, state=SMSState.DELIVERED)
    assert await rig.store.keep_status(sid, sent, 60) is None
    assert await rig.store.keep_status(sid, delivered, 60) is None
    assert await rig.store.link_text(sid, ref, 60) == [sent, delivered]
    assert await rig.store.link_text(sid, ref, 60) == []  # handed over once
    assert await rig.store.keep_status(sid, delivered, 60) == ref  # linked: the caller applies it


async def test_a_status_report_for_a_sid_never_linked_expires(rig: Rig) -> None:
    sid = f"SM{uuid.uuid4().hex}"
    assert await rig.store.keep_status(sid, StatusReport(sid=sid, state=SMSState.SENT), 0.05) is None
    if rig.redis is None:
        rig.clock.now += 1
    else:
        async def gone() -> None:
            while await rig.redis.exists(f"{{text:{sid}}}:early"):
                await asyncio.sleep(0)

        await asyncio.wait_for(gone(), TIMEOUT)
    ref = TextRef(order_id="o-1", phone="+15551234567", sender="+15005550006", seq=1)
    assert await rig.store.link_text(sid, ref, 60) == []


async def test_a_receipt_carries_its_reason(rig: Rig) -> None:
    order = await new_order(rig)
    async with rig.broker.subscribe(order_channel(order.id)) as payloads:
        assert await rig.log.advance_text_state(order.id, 1, SMSState.FAILED, "30003")
        frame = messages.decode_server(await asyncio.wait_for(anext(payloads), TIMEOUT))
    assert frame == messages.Receipt(order_id=order.id, seq=1, sms="failed", reason="30003")
