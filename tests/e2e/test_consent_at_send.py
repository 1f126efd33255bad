"""Consent is checked again at the moment a text is sent, not only when it is queued."""

import asyncio

import pytest

from gateway.jobs.memory import MemoryJobQueue
from gateway.sms.base import InboundSMS
from support.app_server import OPERATOR_KEY, auth, base_config, running_gateway

pytestmark = pytest.mark.e2e


class GatedJobQueue(MemoryJobQueue):
    """Hands out no job until `opened`, and tells when a job is settled."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = asyncio.Event()
        self.settled = asyncio.Condition()

    async def claim(self, kind, now, lease, limit):
        return await super().claim(kind, now, lease, limit) if self.opened.is_set() else []

    async def done(self, job):
        await super().done(job)
        async with self.settled:
            self.settled.notify_all()

    async def wait_until_empty(self, kind: str) -> None:
        async with self.settled:
            await asyncio.wait_for(self.settled.wait_for(lambda: self.pending(kind) == 0), 5)


async def test_a_stop_that_lands_while_a_text_waits_stops_that_text():
    queue = GatedJobQueue()
    async with running_gateway(jobs=queue) as gateway:
        created = await gateway.create_order("o-wait", sms_opt_in=True)
        assert (await gateway.event("o-wait", "picking")).json()["applied"] is True
        assert queue.pending("text") == 1  # the picking text waits, already decided

        order = await gateway.services["store"].get_order("o-wait")
        stop = InboundSMS(sid="SMstop1", phone=order.customer_phone, sender=order.sender, body="STOP")
        assert await gateway.services["inbound"].handle(stop) == []
        queue.opened.set()
        await queue.wait_until_empty("text")

        assert gateway.services["sms"].outbox == []
        view = (await gateway.http.get("/v1/orders/o-wait", headers=auth(OPERATOR_KEY))).json()
        assert view["sms"] == {"opt_in": False, "source": "keyword"}
        assert created.json()["sms"] == {"opt_in": True, "source": "order"}


async def test_a_customer_of_a_retailer_that_owns_messaging_gets_no_reply_but_is_heard():
    config = base_config(retailers={
        "own": {"api_key": "rk-own", "communications": "retailer", "callback_url": "http://127.0.0.1:9/cb"},
    })
    async with running_gateway(config) as gateway:
        assert (await gateway.create_order("o-own", key="rk-own")).status_code == 201
        order = await gateway.services["store"].get_order("o-own")
        inbound = gateway.services["inbound"]
        for n, body in enumerate(["where is my order?", "HELP"]):
            text = InboundSMS(sid=f"SMown{n}", phone=order.customer_phone, sender=order.sender, body=body)
            assert await inbound.handle(text) == []
        transcript = await gateway.http.get("/v1/orders/o-own/messages", headers=auth("rk-own"))
        assert [m["text"] for m in transcript.json()["messages"]] == ["where is my order?", "HELP"]
