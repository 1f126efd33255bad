"""The OrderStore and ChatLog contracts (gateway/store/base.py, gateway/chatlog/base.py), proven
against the memory and the Redis implementations, which share an order's lifetime."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import msgspec
import pytest
import redis.asyncio as aioredis

from gateway import messages
from gateway.broker.base import Broker
from gateway.broker.cluster import RedisClusterBroker
from gateway.broker.memory import MemoryBroker
from gateway.broker.redis import RedisBroker
from gateway.channels import OrderChannels, order_channel
from gateway.chatlog.base import StaleOrder, ChatLog
from gateway.chatlog.memory import MemoryChatLog
from gateway.chatlog.redis import RedisChatLog
from gateway.policy.chat import Role, Via
from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Workflow
from gateway.policy.receipts import SMSState
from gateway.redis_connection import client as redis_client
from gateway.store.base import OrderNotFound, OrderStore, StoreUnavailable
from gateway.store.memory import MemoryOrderStore
from gateway.store.records import Block, ChatMessage, OrderRecord, TextRef
from gateway.store.redis import RedisOrderStore
from support.clocks import FakeClock
from support.redis_cluster import started_cluster_client
from support.redis_server import RedisServer

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
SENDER = "+15005550006"

@dataclass
class Backend:
    """A store and its chat log, a second node's on the same data, and a broker that sees
    their publishes."""

    store: OrderStore
    log: ChatLog
    other: OrderStore
    other_log: ChatLog
    broker: Broker
    clock: FakeClock | None  # None: real time (Redis TTLs)
    redis: aioredis.Redis | None

    def elapse(self, seconds: float) -> None:
        """Moves a fake clock on; with Redis, real time passes while the test polls."""
        if self.clock is not None:
            self.clock.now += seconds


@pytest.fixture(params=["memory", "redis", "cluster"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        broker, clock = MemoryBroker(), FakeClock()
        store = MemoryOrderStore(clock=clock)
        log = MemoryChatLog(store, OrderChannels(broker))
        yield Backend(store=store, log=log, other=store, other_log=log, broker=broker, clock=clock, redis=None)
        return
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        node, other_node, client = [await started_cluster_client(url) for _ in range(3)]
        broker: Broker = RedisClusterBroker(url, node)
    else:
        url = request.getfixturevalue("redis_url")
        node, other_node, client = redis_client(url), redis_client(url), aioredis.Redis.from_url(url)
        broker = RedisBroker(url, node)
    await broker.start()
    yield Backend(
        store=RedisOrderStore(node), log=RedisChatLog(node), other=RedisOrderStore(other_node),
        other_log=RedisChatLog(other_node), broker=broker, clock=None, redis=client,
    )
    await broker.close()
    for connection in (node, other_node, client):
        await connection.aclose()


def new_order(phone: str | None = None, created_at: float = 1_700_000_000.0) -> OrderRecord:
    return OrderRecord(
        id=f"o-{uuid.uuid4().hex}",
        retailer="demo",
        workflow=Workflow.DELIVERY,
        customer_phone=phone or f"+1555{uuid.uuid4().int % 10**7:07d}",
        request_digest="digest",
        consent=Consent(opt_in=True, source=ConsentSource.ORDER),
        sender=SENDER,
        created_at=created_at,
    )


def draft(text: str = "hello", client_id: str | None = None, sender: Role = Role.CUSTOMER) -> ChatMessage:
    return ChatMessage(
        seq=0, id=f"m-{uuid.uuid4().hex}", sender=sender, via=Via.WEB, text=text,
        at="2024-05-01T12:00:00.000Z", client_id=client_id,
    )


async def until(condition: Callable[[], object]) -> None:
    """Awaits `condition()` (a coroutine function) until it is truthy, within TIMEOUT."""

    async def poll() -> None:
        while not await condition():  # type: ignore[misc]
            await asyncio.sleep(0)  # yield, so the timeout can fire even on the memory store

    await asyncio.wait_for(poll(), TIMEOUT)


# orders ---------------------------------------------------------------------------------


async def test_creating_an_order_twice_keeps_the_first(backend: Backend) -> None:
    order = new_order()
    assert await backend.store.create_order(order) == (order, True)
    retry = msgspec.structs.replace(order, request_digest="another body")
    assert await backend.other.create_order(retry) == (order, False)
    assert await backend.other.get_order(order.id) == order


async def test_unknown_order_is_none_and_cannot_be_updated(backend: Backend) -> None:
    assert await backend.store.get_order("o-missing") is None
    with pytest.raises(OrderNotFound):
        await backend.store.update_order("o-missing", lambda record: (record, None))


async def test_concurrent_updates_all_land(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)

    def add(state: str) -> Callable[[OrderRecord], tuple[OrderRecord, str]]:
        def change(record: OrderRecord) -> tuple[OrderRecord, str]:
            return msgspec.structs.replace(record, replied_states=(*record.replied_states, state)), state

        return change

    stores = [backend.store, backend.other]
    results = await asyncio.gather(
        *(stores[i % 2].update_order(order.id, add(f"s{i}")) for i in range(20))
    )
    assert sorted(results) == sorted(f"s{i}" for i in range(20))
    stored = await backend.store.get_order(order.id)
    assert stored is not None and sorted(stored.replied_states) == sorted(results)


async def test_update_that_writes_nothing_returns_its_result(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    assert await backend.store.update_order(order.id, lambda record: (None, "unchanged")) == "unchanged"
    assert await backend.store.get_order(order.id) == order


async def test_every_write_of_a_record_bumps_its_version(backend: Backend) -> None:
    order = msgspec.structs.replace(new_order(), version=1)
    await backend.store.create_order(order)
    await backend.store.update_order(order.id, lambda r: (msgspec.structs.replace(r, customer_name="Ann"), None))
    await backend.other.update_order(order.id, lambda r: (msgspec.structs.replace(r, customer_name="Bo"), None))
    assert (await backend.other.get_order(order.id)).version == 3
    await backend.store.update_order(order.id, lambda r: (None, None))  # nothing written: no new version
    assert (await backend.store.get_order(order.id)).version == 3


async def test_orders_of_phone_are_oldest_first_and_only_that_phone(backend: Backend) -> None:
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    newer, older = new_order(phone, created_at=200.0), new_order(phone, created_at=100.0)
    for order in (newer, older, new_order()):
        await backend.store.create_order(order)
    assert [o.id for o in await backend.other.orders_of_phone(phone)] == [older.id, newer.id]


# chat -----------------------------------------------------------------------------------


async def test_appended_message_is_published_as_its_message_frame(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    async with backend.broker.subscribe(order_channel(order.id)) as payloads:
        message, created = await backend.log.append(order.id, draft("héllo \"you\"", "c1"))
        payload = await asyncio.wait_for(anext(payloads), TIMEOUT)
    assert created and message.seq == 1 and message.text == 'héllo "you"' and message.client_id == "c1"
    frame = messages.MessageFrame(order_id=order.id, message=message)
    assert messages.decode_server(payload) == frame
    assert payload == messages.encode(frame)


async def test_client_id_retry_returns_the_same_message_without_a_new_publish(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    async with backend.broker.subscribe(order_channel(order.id)) as payloads:
        first, created = await backend.log.append(order.id, draft("hi", "c1"))
        retried, again = await backend.other_log.append(order.id, draft("hi", "c1"))
        # The same client_id from the other side is another message.
        shopper, _ = await backend.log.append(order.id, draft("yo", "c1", sender=Role.SHOPPER))
        seqs = [messages.decode_server(await asyncio.wait_for(anext(payloads), TIMEOUT)).message.seq
                for _ in range(2)]
    assert (created, again) == (True, False)
    assert retried == first
    assert shopper.seq == 2
    assert seqs == [1, 2]  # nothing was published for the retry
    assert await backend.log.last_seq(order.id) == 2


async def test_concurrent_appends_get_every_seq_once(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    logs = [backend.log, backend.other_log]
    results = await asyncio.gather(
        *(logs[i % 2].append(order.id, draft(f"m{i}")) for i in range(30)),
        *(logs[i % 2].append(order.id, draft("retried", "same")) for i in range(5)),
    )
    assert sum(created for _, created in results) == 31
    assert sorted({message.seq for message, _ in results}) == list(range(1, 32))
    history = await backend.other_log.messages(order.id, after=0, limit=100)
    assert [message.seq for message in history] == list(range(1, 32))
    assert await backend.log.last_seq(order.id) == 31


async def test_messages_after_and_limit(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    for i in range(5):
        await backend.log.append(order.id, draft(f"m{i}"))
    assert [m.text for m in await backend.log.messages(order.id, after=2, limit=2)] == ["m2", "m3"]
    assert [m.seq for m in await backend.log.messages(order.id, after=3, limit=10)] == [4, 5]
    assert await backend.log.messages(order.id, after=5, limit=10) == []


async def test_a_page_is_its_messages_and_where_the_history_ends(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    for i in range(5):
        await backend.log.append(order.id, draft(f"m{i}"))
    page, last_seq = await backend.log.page(order.id, after=1, limit=2)
    assert ([m.seq for m in page], last_seq) == ([2, 3], 5)
    assert await backend.log.page(order.id, after=5, limit=10) == ([], 5)
    assert await backend.log.page(order.id, after=9, limit=10) == ([], 5)


async def test_a_message_decided_on_an_older_record_is_not_stored(backend: Backend) -> None:
    """A node decides a message on its copy of the record; the append stores it only if the
    record is still that version, and a retry is answered before that check."""
    order = msgspec.structs.replace(new_order(), version=1)
    await backend.store.create_order(order)
    await backend.other.update_order(order.id, lambda r: (msgspec.structs.replace(r, customer_name="Ann"), None))
    with pytest.raises(StaleOrder):
        await backend.log.append(order.id, draft("decided on version 1", "c1"), version=1)
    assert await backend.other_log.last_seq(order.id) == 0
    stored, created = await backend.log.append(order.id, draft("decided on version 2", "c1"), version=2)
    assert created and stored.seq == 1
    again, created = await backend.other_log.append(order.id, draft("decided on version 2", "c1"), version=1)
    assert not created and again.seq == 1
    unchecked, created = await backend.log.append(order.id, draft("version 0 is not checked"))
    assert created and unchecked.seq == 2


async def test_chat_of_an_unknown_order(backend: Backend) -> None:
    assert await backend.log.messages("o-missing", after=0, limit=10) == []
    assert await backend.log.last_seq("o-missing") == 0
    assert await backend.log.page("o-missing", after=0, limit=10) == ([], 0)
    with pytest.raises(OrderNotFound):
        await backend.log.append("o-missing", draft())


# retention ------------------------------------------------------------------------------


@pytest.mark.parametrize("written_after_expiry", [False, True], ids=["quiet", "busy"])
async def test_expired_order_leaves_nothing_behind(backend: Backend, written_after_expiry: bool) -> None:
    order = new_order()
    await backend.store.create_order(order)
    await backend.log.append(order.id, draft("before", "c0"))
    await backend.log.advance_text_state(order.id, 1, SMSState.QUEUED)
    await backend.store.set_route(order.customer_phone, SENDER, order.id)
    await backend.store.expire_order(order.id, 0.5)
    if written_after_expiry:
        # Written after the expiry was set: these must go with the order too.
        await backend.log.append(order.id, draft("after", "c1"))
        await backend.log.advance_text_state(order.id, 2, SMSState.QUEUED)
    backend.elapse(0.5)

    async def gone() -> bool:
        return await backend.store.get_order(order.id) is None

    await until(gone)
    assert await backend.log.messages(order.id, after=0, limit=10) == []
    assert await backend.log.last_seq(order.id) == 0
    assert await backend.store.orders_and_route(order.customer_phone, SENDER) == ([], None)
    assert await backend.store.orders_of_phone(order.customer_phone) == []
    if backend.redis is not None:
        assert [key async for key in backend.redis.scan_iter(match=f"*{order.id}*")] == []
        phone_keys = [f"phone:{order.customer_phone}:{name}" for name in ("orders", "routes")]
        assert await backend.redis.exists(*phone_keys) == 0


# phones ---------------------------------------------------------------------------------


async def test_route_is_per_phone_and_sender_and_read_with_the_phones_orders(backend: Backend) -> None:
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    first, second = new_order(phone, created_at=100.0), new_order(phone, created_at=200.0)
    for order in (first, second):
        await backend.store.create_order(order)
    assert await backend.store.orders_and_route(phone, SENDER) == ([first, second], None)
    await backend.store.set_route(phone, SENDER, first.id)
    await backend.store.set_route(phone, SENDER, second.id)
    assert await backend.other.orders_and_route(phone, SENDER) == ([first, second], second.id)
    assert await backend.other.orders_and_route(phone, "+15005550007") == ([first, second], None)


async def test_a_route_to_an_order_that_is_not_kept_reads_as_none(backend: Backend) -> None:
    """A route whose order is gone (or was never this phone's) routes nothing."""
    kept = new_order()
    await backend.store.create_order(kept)
    await backend.store.set_route(kept.customer_phone, SENDER, "o-long-gone")
    assert await backend.other.orders_and_route(kept.customer_phone, SENDER) == ([kept], None)
    if backend.redis is not None:  # and is dropped on the way
        assert await backend.redis.hget(f"phone:{kept.customer_phone}:routes", SENDER) is None


async def test_keyword_block_covers_every_sender_and_sender_block_one(backend: Backend) -> None:
    phone, other_sender = f"+1555{uuid.uuid4().int % 10**7:07d}", "+15005550007"
    assert await backend.store.block(phone, SENDER) == Block(keyword=False, sender=False)
    await backend.store.set_blocked(phone, SENDER, True)
    assert await backend.other.block(phone, SENDER) == Block(keyword=False, sender=True)
    assert await backend.other.block(phone, other_sender) == Block(keyword=False, sender=False)
    await backend.store.set_blocked(phone, None, True)
    assert await backend.other.block(phone, other_sender) == Block(keyword=True, sender=False)
    await backend.store.set_blocked(phone, None, False)
    await backend.store.set_blocked(phone, SENDER, False)
    assert not (await backend.other.block(phone, SENDER)).any


# texts ----------------------------------------------------------------------------------


async def test_first_sight_is_true_once_per_ttl(backend: Backend) -> None:
    key = f"event-{uuid.uuid4().hex}"
    assert await backend.store.first_sight(key, 0.2)
    assert not await backend.other.first_sight(key, 0.2)
    backend.elapse(0.2)

    async def seen_afresh() -> bool:
        return await backend.store.first_sight(key, 0.2)

    await until(seen_afresh)


async def test_text_ref_is_found_by_sid(backend: Backend) -> None:
    sid, ref = f"SM{uuid.uuid4().hex}", TextRef(order_id="o-1", phone="+15551234567", sender=SENDER, seq=3)
    assert await backend.store.text_ref(sid) is None
    await backend.store.link_text(sid, ref, 60)
    assert await backend.other.text_ref(sid) == ref


async def test_text_state_only_moves_forward(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    moves = [("queued", True), ("sent", True), ("queued", False), ("delivered", True), ("failed", False)]
    moves = [(SMSState(state), moved) for state, moved in moves]
    assert [await backend.log.advance_text_state(order.id, 1, state) for state, _ in moves] == [
        moved for _, moved in moves
    ]
    assert await backend.other_log.advance_text_state(order.id, 2, SMSState.FAILED)
    assert not await backend.other_log.advance_text_state(order.id, 2, SMSState.DELIVERED)
    assert not await backend.log.advance_text_state("o-missing", 1, SMSState.QUEUED)


async def test_a_text_state_that_moves_is_published_as_a_receipt_and_one_that_does_not_is_not(
    backend: Backend,
) -> None:
    order = new_order()
    await backend.store.create_order(order)
    async with backend.broker.subscribe(order_channel(order.id)) as payloads:
        for state in ("queued", "delivered", "sent", "failed"):  # sent and failed come too late
            await backend.log.advance_text_state(order.id, 4, SMSState(state))
        await backend.log.append(order.id, draft("marker", "m1"))
        frames = [messages.decode_server(await asyncio.wait_for(anext(payloads), TIMEOUT)) for _ in range(3)]
    receipts = [messages.Receipt(order_id=order.id, seq=4, sms=state) for state in ("queued", "delivered")]
    assert frames[:2] == receipts
    assert isinstance(frames[2], messages.MessageFrame)  # nothing else was published before it


# redis outages ----------------------------------------------------------------------------


async def test_redis_outage_raises_store_unavailable_and_acked_messages_survive(
    restartable_redis: RedisServer,
) -> None:
    connection = redis_client(restartable_redis.url)
    store, log = RedisOrderStore(connection), RedisChatLog(connection)
    order = new_order()
    try:
        await store.create_order(order)
        acked, _ = await log.append(order.id, draft("before", "c1"))
        await restartable_redis.astop()
        assert not await store.ping()
        with pytest.raises(StoreUnavailable):
            await log.append(order.id, draft("during"))
        with pytest.raises(StoreUnavailable):
            await store.get_order(order.id)
        await restartable_redis.astart()
        assert await store.ping()
        assert await log.messages(order.id, after=0, limit=10) == [acked]
        # The restarted Redis has no scripts cached; appending loads it again.
        after, created = await log.append(order.id, draft("after"))
        assert created and after.seq == 2
        assert await log.append(order.id, draft("before", "c1")) == (acked, False)
    finally:
        await connection.aclose()



async def test_a_burst_on_one_cluster_client_is_not_an_outage(redis_cluster_url: str) -> None:
    """Hundreds of chat messages at once through one node's cluster client all land:
    redis-py's cluster client would fail past 100 connections to a node (MaxConnectionsError,
    which reads as 'unavailable')."""
    client = await started_cluster_client(redis_cluster_url)
    try:
        store, log = RedisOrderStore(client), RedisChatLog(client)
        order = new_order()
        await store.create_order(order)
        results = await asyncio.gather(*(log.append(order.id, draft(f"m{i}")) for i in range(300)))
        assert sorted(message.seq for message, _ in results) == list(range(1, 301))
    finally:
        await client.aclose()
