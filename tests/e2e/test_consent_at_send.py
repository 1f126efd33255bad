"""Consent is checked again at the moment a text is sent, not only when it is queued."""

import asyncio

import pytest

from support.app_server import (
    OPERATOR_KEY,
    ObservedJobQueue,
    auth,
    base_config,
    frame_of,
    join,
    running_gateway,
    send_text,
)

pytestmark = pytest.mark.e2e


class GatedJobQueue(ObservedJobQueue):
    """Hands out no job until `opened`."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = asyncio.Event()

    async def claim(self, kind, now, lease, limit):
        return await super().claim(kind, now, lease, limit) if self.opened.is_set() else []


async def test_a_stop_that_lands_while_a_text_waits_stops_that_text():
    queue = GatedJobQueue()
    async with running_gateway(jobs=queue) as gateway:
        created = await gateway.create_order("o-wait", sms_opt_in=True)
        assert (await gateway.event("o-wait", "picking")).json()["applied"] is True
        assert queue.pending("text") == 1  # the picking text waits, already decided

        order = await gateway.services.store.get_order("o-wait")
        assert await gateway.text_in(order.customer_phone, order.sender, "STOP", "SMstop1") == []
        queue.opened.set()
        await queue.drained("text")

        assert gateway.phone.outbox == []
        view = (await gateway.http.get("/v1/orders/o-wait", headers=auth(OPERATOR_KEY))).json()
        assert view["sms"] == {"opt_in": False, "source": "keyword"}
        assert created.json()["sms"] == {"opt_in": True, "source": "order"}


async def test_a_customer_of_a_retailer_that_owns_messaging_gets_no_reply_but_is_heard():
    config = base_config(retailers={
        "own": {"api_key": "rk-own", "communications": "retailer", "callback_url": "http://127.0.0.1:9/cb"},
    })
    async with running_gateway(config) as gateway:
        assert (await gateway.create_order("o-own", key="rk-own")).status_code == 201
        order = await gateway.services.store.get_order("o-own")
        for n, body in enumerate(["where is my order?", "HELP"]):
            assert await gateway.text_in(order.customer_phone, order.sender, body, f"SMown{n}") == []
        transcript = await gateway.http.get("/v1/orders/o-own/messages", headers=auth("rk-own"))
        assert [m["text"] for m in transcript.json()["messages"]] == ["where is my order?", "HELP"]


async def test_a_phone_that_texted_stop_gets_nothing_even_for_a_new_opted_in_order(gateway):
    await gateway.create_order("o-before", sms_opt_in=True)
    order = await gateway.services.store.get_order("o-before")
    await gateway.text_in(order.customer_phone, order.sender, "stop", "SMstop2")

    # The retailer's checkout says yes to texts, but the phone said STOP: the block wins.
    view = await gateway.picking_order("o-after", sms_opt_in=True)
    assert view["sms"] == {"opt_in": True, "source": "order"}
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-after")
    await send_text(shopper, "o-after", "Hi! Starting on your list now.", "s1")
    receipt = await frame_of(shopper, "receipt")
    assert (receipt["seq"], receipt["sms"]) == (1, "not_sent")
    await gateway.jobs.drained("text")
    assert gateway.phone.outbox == []
