"""The outside world misbehaving around a running gateway on Redis: Twilio refusing for a
while, Twilio answering late while its status callbacks come first (on another node), and the
retailer's callback receiver down, then up."""

from __future__ import annotations

import asyncio
import secrets
import socket

import httpx
import pytest
import redis.asyncio as aioredis

from support.app_server import RETAILER_KEY, base_config, collect, frame_of, join, running_gateway, send_text
from support.callback_receiver import CallbackReceiver
from support.fake_twilio import FakeTwilio
from support.serving import serving
from support.twilio_webhooks import post_signed, status_form

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SEND_TIMEOUT = 30.0  # a few provider refusals, each retried after a backoff of seconds


async def test_a_text_twilio_refuses_for_a_while_is_sent_once_when_it_takes_it(redis_url, fake_twilio: FakeTwilio):
    config = base_config(gateway={"redis_url": redis_url}, sms=fake_twilio.sms_config())
    async with running_gateway(config) as node:
        order_id = f"o-{secrets.token_hex(6)}"
        await node.picking_order(order_id, sms_opt_in=True)
        await fake_twilio.wait_for_accepted(1)
        for status in (500, 429, 503):
            fake_twilio.fail_next(status=status)
        shopper = await node.connect("shopper", await node.shopper_token())
        await join(shopper, order_id)
        await send_text(shopper, order_id, "Your bananas are ripe", "c1")
        assert (await frame_of(shopper, "receipt"))["sms"] == "queued"
        await fake_twilio.wait_for_accepted(2, timeout=SEND_TIMEOUT)
        answered = [request.answered for request in fake_twilio.requests if request.form["Body"] == "Your bananas are ripe"]
        assert answered == [500, 429, 503, 201]  # retried through the refusals, accepted once
        assert len(fake_twilio.accepted) == 2


async def test_status_callbacks_that_beat_twilios_late_answer_are_kept_and_applied(redis_url, fake_twilio: FakeTwilio):
    config = base_config(gateway={"redis_url": redis_url}, sms=fake_twilio.sms_config())
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        order_id = f"o-{secrets.token_hex(6)}"
        await node_a.picking_order(order_id, sms_opt_in=True)
        await fake_twilio.wait_for_accepted(1)
        shopper = await node_a.connect("shopper", await node_a.shopper_token())
        await join(shopper, order_id)

        fake_twilio.hold_answers()  # Twilio is slow to answer the create...
        await send_text(shopper, order_id, "Found the oat milk", "c1")
        assert (await frame_of(shopper, "receipt"))["sms"] == "queued"
        sid = (await fake_twilio.wait_for_held(1))[0]
        # ...while its status callbacks, on their own connections, land on the other node.
        for status in ("sent", "delivered"):
            assert (await post_signed(node_b, "/twilio/status", status_form(sid, status))).status_code == 200
        fake_twilio.release_answers()  # the answer ("queued") lands last and moves nothing back

        receipts = await collect(shopper, {"receipt"}, 2)
        assert [receipt["sms"] for receipt in receipts] == ["sent", "delivered"]
        await shopper.send('{"type":"ping"}')
        rest = await collect(shopper, {"receipt", "pong"}, 1)
        assert rest == [{"type": "pong"}]  # no receipt moved it back before the pong


async def test_a_status_callback_for_a_sid_never_sent_is_answered_and_forgotten(redis_url, fake_twilio: FakeTwilio):
    config = base_config(gateway={"redis_url": redis_url}, sms=fake_twilio.sms_config())
    async with running_gateway(config) as node:
        stray = "SM" + secrets.token_hex(16)
        assert (await post_signed(node, "/twilio/status", status_form(stray, "delivered"))).status_code == 200
        early = node.services.metrics.registry.get_sample_value("gateway_early_status_reports_total")
        assert early == 1
        async with aioredis.from_url(redis_url) as redis:
            ttl = await redis.pttl(f"{{text:{stray}}}:early")
        assert 0 < ttl <= 600_000  # kept for minutes, then gone


class RefusalCount(httpx.AsyncBaseTransport):
    """The gateway's own HTTP transport, counting the connections refused through it, so a
    test can await the n-th refusal rather than poll for it."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._refused = 0
        self._changed = asyncio.Condition()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.ConnectError:
            async with self._changed:
                self._refused += 1
                self._changed.notify_all()
            raise

    async def refused(self, n: int, timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self._refused >= n), timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_callbacks_reach_a_receiver_that_was_down_once_it_is_up(redis_url):
    # The receiver's port is known, but nothing listens on it yet: connection refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = CallbackReceiver()
    hooks = f"http://127.0.0.1:{port}/hooks"
    config = base_config(
        gateway={"redis_url": redis_url},
        retailers={"demo": {"name": "Demo Grocer", "api_key": RETAILER_KEY, "callback_url": hooks, "callback_secret": "k"}},
    )
    transport = RefusalCount()
    async with (
        httpx.AsyncClient(transport=transport, trust_env=False) as http,
        running_gateway(config, callbacks_http=http) as node,
    ):
        order_id = f"o-{secrets.token_hex(6)}"
        await node.picking_order(order_id)
        await transport.refused(2, SEND_TIMEOUT)  # tried, refused, and tried again
        # The first refusal was counted as a retry before the second attempt was made.
        retried = node.services.metrics.registry.get_sample_value("gateway_callbacks_total", {"outcome": "retried"})
        assert retried is not None and retried >= 1
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        async with serving(receiver.app, sock, lifespan="off", ws="none"):
            received = (await receiver.wait_for(1, timeout=SEND_TIMEOUT))[0]
        assert received.json()["event_id"] == f"{order_id}-picking"
        assert received.json()["event_name"] == "fulfillment.picking"
        assert CallbackReceiver.signature_is_valid(received, "k")
