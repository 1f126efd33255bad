"""Replacement proposals across two nodes on one Redis, with Twilio: the proposal is texted in
its own words, and a customer answering by button on one node while texting the digit to the
other gets exactly one answer stored (decided in the chat log, atomically)."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from support.app_server import OPERATOR_KEY, auth, base_config, frame_of, join, running_gateway
from support.fake_twilio import FakeTwilio
from support.twilio_webhooks import inbound_form, post_signed, twiml_messages
from support.proposals import MILK_TEXT, answer, message_from, propose

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SEND_TIMEOUT = 10.0
ROUNDS = 6


@pytest.fixture
async def nodes(redis_gateway: dict, fake_twilio: FakeTwilio):
    config = base_config(gateway=redis_gateway, sms=fake_twilio.sms_config())  # one Redis, and a Redis Cluster
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        yield node_a, node_b


async def test_a_button_and_a_digit_racing_on_two_nodes_store_exactly_one_answer(nodes, fake_twilio) -> None:
    node_a, node_b = nodes
    winners = []
    for round_ in range(ROUNDS):
        order_id, phone = f"o-{secrets.token_hex(6)}", f"+1555123{round_:04d}"
        view = await node_a.picking_order(order_id, sms_opt_in=True, customer={"phone": phone})
        texted = len(await fake_twilio.wait_for_accepted(len(fake_twilio.accepted) + 1, timeout=SEND_TIMEOUT))
        shopper = await node_a.connect("shopper", await node_a.shopper_token())
        await join(shopper, order_id)
        await propose(shopper, order_id, "p1")
        seq = (await frame_of(shopper, "ack"))["message"]["seq"]
        sent = (await fake_twilio.wait_for_accepted(texted + 1, timeout=SEND_TIMEOUT))[texted]
        assert (sent.form["Body"], sent.form["To"]) == (MILK_TEXT, phone)

        customer = await node_b.connect("customer", view["customer_token"])
        await join(customer, order_id)
        form = inbound_form("2", sender=sent.form["From"], phone=phone)
        if round_ % 2 == 0:  # both at once: the page's frame is usually first to the store
            _, replied = await asyncio.gather(
                answer(customer, order_id, "a1", seq, 1), post_signed(node_a, "/twilio/inbound", form)
            )
        else:  # the text first, the button pressed while its answer is on its way
            replied = await post_signed(node_a, "/twilio/inbound", form)
            await answer(customer, order_id, "a1", seq, 1)
        assert twiml_messages(replied) == []

        told = await frame_of(shopper, "proposal")  # after the answer's message frame
        assert told["seq"] == seq
        winners.append(told["answer"]["via"])
        page_reply = await frame_of(customer, "ack" if told["answer"]["via"] == "web" else "error")
        if told["answer"]["via"] == "web":
            assert page_reply["message"]["answer"] == {"seq": seq, "choice": 1}
            late_digit = await message_from(shopper, "customer")
            assert (late_digit["text"], late_digit["via"], "answer" in late_digit) == ("2", "sms", False)
        else:
            assert (page_reply["code"], page_reply["client_id"]) == ("already_answered", "a1")
            assert told["answer"]["choice"] == 2

        transcript = await node_b.http.get(f"/v1/orders/{order_id}/messages", headers=auth(OPERATOR_KEY))
        history = transcript.json()["messages"]
        answers = [m for m in history if "answer" in m]
        assert len(answers) == 1 and answers[0]["answer"]["seq"] == seq
        assert history[0]["proposal"]["answer"] == told["answer"]
        await asyncio.gather(shopper.close(), customer.close())
    # Exactly one answer was stored each round, whichever came first.
    assert set(winners) == {"web", "sms"} and len(winners) == ROUNDS
