"""Joining and rejoining: history then live, with nothing missed and nothing twice."""

from __future__ import annotations

import asyncio
import json

import pytest

import dataclasses

from gateway.broker.memory import MemoryBroker
from support.app_server import frame_of, join, running_gateway, send_text

pytestmark = pytest.mark.e2e


class PausableLog:
    """The embedded chat log, except that it holds the next history read until `resume` is
    set, so a test can land a message in the window between a join's subscription and its
    replay."""

    def __init__(self) -> None:
        self.log = None
        self.hold_next_read = False
        self.reading = asyncio.Event()
        self.resume = asyncio.Event()

    def wrap(self, services):
        self.log = services.chat_log
        return dataclasses.replace(services, chat_log=self)

    def __getattr__(self, name):
        return getattr(self.log, name)

    async def page(self, order_id, after, limit):
        if self.hold_next_read:
            self.hold_next_read = False
            self.reading.set()
            await self.resume.wait()
        return await self.log.page(order_id, after, limit)


async def test_a_message_landing_while_a_join_replays_history_arrives_once():
    store = PausableLog()
    async with running_gateway(wrap=store.wrap) as gateway:
        view = await gateway.picking_order("o-race")
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        await join(shopper, "o-race")
        await send_text(shopper, "o-race", "first", "s1")
        await frame_of(shopper, "ack")

        customer = await gateway.connect("customer", view["customer_token"])
        store.hold_next_read = True
        await customer.send(json.dumps({"type": "join", "order_id": "o-race", "after": 0}))
        await asyncio.wait_for(store.reading.wait(), 5)  # subscribed, replay not yet read
        await send_text(shopper, "o-race", "second", "s2")
        await frame_of(shopper, "ack")  # stored and published while the replay waits
        store.resume.set()

        joined = await frame_of(customer, "joined")
        seen = [m["seq"] for m in joined["history"]]
        await send_text(shopper, "o-race", "third", "s3")
        while 3 not in seen:
            seen.append((await frame_of(customer, "message"))["message"]["seq"])
        assert seen == [1, 2, 3]


async def test_asking_for_more_history_than_the_order_has_is_flagged_not_hidden(gateway):
    view = await gateway.picking_order("o-lost")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-lost")
    await send_text(shopper, "o-lost", "only message", "s1")
    await frame_of(shopper, "ack")

    customer = await gateway.connect("customer", view["customer_token"])
    joined = await join(customer, "o-lost", after=7)  # a client that saw seq 7 of a lost history
    assert joined["history_lost"] is True
    assert joined["last_seq"] == 1 and joined["history"] == []

    resumed = await join(customer, "o-lost", after=0)
    assert "history_lost" not in resumed
    assert [m["text"] for m in resumed["history"]] == ["only message"]


class LossyBroker(MemoryBroker):
    """Loses the message frame of one seq, as a pub/sub hiccup between nodes would."""

    def __init__(self, lose_seq: int) -> None:
        super().__init__()
        self.lose_seq = lose_seq
        self.lost = 0

    async def publish(self, channel: str, payload: bytes) -> None:
        frame = json.loads(payload)
        if frame["type"] == "message" and frame["message"]["seq"] == self.lose_seq and not self.lost:
            self.lost += 1
            return
        await super().publish(channel, payload)


async def test_a_message_lost_between_nodes_is_filled_in_before_the_next_one():
    broker = LossyBroker(lose_seq=2)
    async with running_gateway(broker=broker) as gateway:
        view = await gateway.picking_order("o-gap")
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        customer = await gateway.connect("customer", view["customer_token"])
        await join(shopper, "o-gap")
        await join(customer, "o-gap")
        for n in (1, 2, 3):
            await send_text(shopper, "o-gap", f"item {n}", f"s{n}")
            await frame_of(shopper, "ack")
        received = [(await frame_of(customer, "message"))["message"]["text"] for _ in range(3)]
        assert broker.lost == 1
        assert received == ["item 1", "item 2", "item 3"]
