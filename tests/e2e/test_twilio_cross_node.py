"""Twilio with two nodes on one Redis (or one Redis Cluster): a webhook may land on any node, and what it carries
reaches the shopper wherever the shopper's socket is."""

from __future__ import annotations

import secrets

import pytest

from support.app_server import OPERATOR_KEY, auth, base_config, frame_of, join, running_gateway, send_text
from support.fake_twilio import FakeTwilio
from support.twilio_webhooks import inbound_form, post_signed, status_form, twiml_messages

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SEND_TIMEOUT = 10.0


@pytest.fixture
async def nodes(redis_gateway: dict, fake_twilio: FakeTwilio):
    config = base_config(
        gateway=redis_gateway,
        sms=fake_twilio.sms_config(),
    )
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        yield node_a, node_b


async def test_a_status_callback_on_one_node_is_a_receipt_for_the_shopper_on_the_other(nodes, fake_twilio):
    node_a, node_b = nodes
    order_id = f"o-{secrets.token_hex(6)}"
    await node_b.picking_order(order_id, sms_opt_in=True)
    await fake_twilio.wait_for_accepted(1, timeout=SEND_TIMEOUT)  # the picking text
    shopper = await node_a.connect("shopper", await node_a.shopper_token())
    await join(shopper, order_id)

    await send_text(shopper, order_id, "They are out of oat milk. Almond?", "c1")
    seq = (await frame_of(shopper, "ack"))["message"]["seq"]
    relayed = (await fake_twilio.wait_for_accepted(2, timeout=SEND_TIMEOUT))[1]
    assert relayed.form["Body"] == "They are out of oat milk. Almond?"
    # Whichever node's worker sent it, Twilio reports back to that node's public URL.
    assert relayed.form["StatusCallback"] in {f"{node.url}/twilio/status" for node in nodes}

    response = await post_signed(node_b, "/twilio/status", status_form(relayed.sid, "delivered"))
    assert response.status_code == 200
    receipt = await frame_of(shopper, "receipt")
    while receipt["sms"] != "delivered":  # "queued" first, as the text left
        receipt = await frame_of(shopper, "receipt")
    assert (receipt["order_id"], receipt["seq"]) == (order_id, seq)


async def test_a_customer_text_on_one_node_reaches_the_shopper_on_the_other(nodes, fake_twilio):
    node_a, node_b = nodes
    order_id = f"o-{secrets.token_hex(6)}"
    await node_a.picking_order(order_id, sms_opt_in=True)
    picking = (await fake_twilio.wait_for_accepted(1, timeout=SEND_TIMEOUT))[0]
    shopper = await node_a.connect("shopper", await node_a.shopper_token())
    await join(shopper, order_id)

    form = inbound_form("Almond is fine, thanks!", sender=picking.form["From"])
    assert twiml_messages(await post_signed(node_b, "/twilio/inbound", form)) == []
    message = (await frame_of(shopper, "message"))["message"]
    assert (message["from"], message["via"], message["text"]) == ("customer", "sms", "Almond is fine, thanks!")

    # Twilio retried the same webhook on the other node: nothing changes.
    assert twiml_messages(await post_signed(node_a, "/twilio/inbound", form)) == []
    transcript = await node_a.http.get(f"/v1/orders/{order_id}/messages", headers=auth(OPERATOR_KEY))
    assert [m["text"] for m in transcript.json()["messages"]] == ["Almond is fine, thanks!"]


async def test_a_text_accepted_by_a_node_that_stops_is_sent_by_another(redis_gateway, fake_twilio):
    config = base_config(
        gateway=redis_gateway,
        sms=fake_twilio.sms_config(),
    )
    order_id = f"o-{secrets.token_hex(6)}"
    # Two refusals: should node A's first retry come due before it has stopped, it is refused
    # too, and the text is still waiting for the next node.
    fake_twilio.fail_next(status=503)
    fake_twilio.fail_next(status=503)
    async with running_gateway(config) as node_a:
        await node_a.picking_order(order_id, sms_opt_in=True)
        await fake_twilio.wait_for_requests(1, timeout=SEND_TIMEOUT)
    # Node A stopped right after Twilio refused the text, before its retry: stopping lets
    # the attempt settle, so the text waits in Redis, due again, for any node.
    assert fake_twilio.accepted == []
    async with running_gateway(config) as node_b:
        sent = await fake_twilio.wait_for_accepted(1, timeout=SEND_TIMEOUT)
        assert sent[0].form["Body"].startswith("Alex is shopping your Demo Grocer order")
        shopper = await node_b.connect("shopper", await node_b.shopper_token())
        await join(shopper, order_id)  # node B serves the order node A created
    assert len(fake_twilio.accepted) == 1
