"""The gateway with provider "twilio", as Twilio sees it: texts arrive at a fake Messages API,
and webhooks come back signed by Twilio's own RequestValidator over the configured public_url."""

from __future__ import annotations

import secrets

import pytest
from twilio.request_validator import RequestValidator

from support.app_server import (
    RETAILER_KEY,
    RunningGateway,
    auth,
    base_config,
    frame_of,
    join,
    running_gateway,
    send_text,
)
from support.fake_twilio import FakeTwilio, RecordedRequest
from support.twilio_webhooks import PHONE, inbound_form, post_signed, status_form, twiml_messages

pytestmark = pytest.mark.e2e

SEND_TIMEOUT = 10.0  # covers one retry backoff (at most 2 s) with room to spare


@pytest.fixture
async def gateway(fake_twilio: FakeTwilio):
    raw = base_config(
        sms=fake_twilio.sms_config()
    )
    async with running_gateway(raw) as running:
        yield running


async def customer_texts(gateway: RunningGateway, order_id: str) -> list[str]:
    response = await gateway.http.get(f"/v1/orders/{order_id}/messages", headers=auth(RETAILER_KEY))
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"] if m["from"] == "customer" and m["via"] == "sms"]


async def sms_view(gateway: RunningGateway, order_id: str) -> dict:
    response = await gateway.http.get(f"/v1/orders/{order_id}", headers=auth(RETAILER_KEY))
    assert response.status_code == 200, response.text
    return response.json()["sms"]


async def texting_order(gateway: RunningGateway, fake: FakeTwilio, order_id: str) -> RecordedRequest:
    """An opted-in order whose chat is open; returns its picking text as Twilio received it."""
    before = len(fake.accepted)
    await gateway.picking_order(order_id, sms_opt_in=True)
    texts = await fake.wait_for_accepted(before + 1, timeout=SEND_TIMEOUT)
    return texts[before]


async def shopper_socket(gateway: RunningGateway, order_id: str):
    ws = await gateway.connect("shopper", await gateway.shopper_token())
    await join(ws, order_id)
    return ws


async def shopper_says(ws, order_id: str, text: str) -> int:
    await send_text(ws, order_id, text, client_id=secrets.token_hex(8))
    return (await frame_of(ws, "ack"))["message"]["seq"]


async def receipt_reaching(ws, seq: int, state: str) -> dict:
    """Receipt frames for `seq` until it reaches `state` (earlier states may come first)."""
    while True:
        frame = await frame_of(ws, "receipt")
        if frame["seq"] == seq and frame["sms"] == state:
            return frame


# Outbound ------------------------------------------------------------------------------------


async def test_notification_text_reaches_twilio_with_our_status_callback(gateway, fake_twilio):
    text = await texting_order(gateway, fake_twilio, "tw-notify")

    assert (text.account_sid, text.username, text.password) == (
        fake_twilio.account_sid, fake_twilio.account_sid, fake_twilio.auth_token,
    )
    assert text.form["To"] == PHONE
    assert text.form["From"] in gateway.settings.sms.numbers
    assert "Alex is shopping your Demo Grocer order" in text.form["Body"]
    assert text.form["StatusCallback"] == gateway.url + "/twilio/status"


@pytest.mark.parametrize("status", [429, 500])
async def test_refused_send_is_retried_and_the_text_arrives_once(gateway, fake_twilio, status):
    fake_twilio.fail_next(status=status)
    await texting_order(gateway, fake_twilio, f"tw-retry-{status}")

    assert [request.answered for request in fake_twilio.requests] == [status, 201]
    first, second = fake_twilio.requests
    assert first.form == second.form
    assert len(fake_twilio.accepted) == 1


# Signatures ----------------------------------------------------------------------------------


async def test_unsigned_or_forged_webhooks_are_refused_and_record_nothing(gateway, fake_twilio):
    picking = await texting_order(gateway, fake_twilio, "tw-forged")
    form = inbound_form("is the milk organic?", sender=picking.form["From"])
    forged_host = "gateway.attacker.example"

    good_signature = RequestValidator(fake_twilio.auth_token).compute_signature(
        gateway.url + "/twilio/inbound", form
    )

    refusals = [
        await gateway.http.post("/twilio/inbound", data=form),
        await gateway.http.post("/twilio/inbound", data=form, headers={"X-Twilio-Signature": ""}),
        await post_signed(gateway, "/twilio/inbound", form, token="not-the-auth-token"),
        await post_signed(  # signed over the Host header's URL, not public_url
            gateway, "/twilio/inbound", form,
            signed_url=f"http://{forged_host}/twilio/inbound", host=forged_host,
        ),
        await gateway.http.post(  # tampered: Twilio's signature over another body
            "/twilio/inbound", data={**form, "Body": "STOP"}, headers={"X-Twilio-Signature": good_signature}
        ),
    ]
    for response in refusals:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "bad_signature"
    assert await customer_texts(gateway, "tw-forged") == []
    assert (await sms_view(gateway, "tw-forged"))["opt_in"] is True

    # The refused attempts did not use up the MessageSid: Twilio's own request still counts,
    # whatever Host header the proxy in front of us passes on.
    accepted = await post_signed(gateway, "/twilio/inbound", form, host="gateway.internal:8080")
    assert twiml_messages(accepted) == []
    assert await customer_texts(gateway, "tw-forged") == ["is the milk organic?"]


async def test_a_webhook_url_with_a_query_is_verified_with_its_query(gateway):
    form = inbound_form("hi", sender="+15005550006", phone="+15559870000")
    public = gateway.settings.gateway.public_base_url
    with_query = await post_signed(
        gateway, "/twilio/inbound?via=sms", form, signed_url=f"{public}/twilio/inbound?via=sms"
    )
    assert with_query.status_code == 200, with_query.text
    without_query = await post_signed(
        gateway, "/twilio/inbound?via=sms", form, signed_url=f"{public}/twilio/inbound"
    )
    assert without_query.status_code == 403


async def test_unsigned_status_callback_is_refused(gateway, fake_twilio):
    response = await gateway.http.post("/twilio/status", data=status_form("SM" + "0" * 32, "delivered"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"


async def test_signed_but_malformed_inbound_names_the_missing_field(gateway):
    form = inbound_form("hi", sender="+15005550006")
    del form["From"]
    response = await post_signed(gateway, "/twilio/inbound", form)
    assert response.status_code == 400
    assert "From" in response.json()["error"]["message"]


# Inbound texts -------------------------------------------------------------------------------


async def test_a_repeated_message_sid_changes_nothing(gateway, fake_twilio):
    picking = await texting_order(gateway, fake_twilio, "tw-dedupe")
    form = inbound_form("leave it at the door", sender=picking.form["From"])

    for _ in range(3):
        assert twiml_messages(await post_signed(gateway, "/twilio/inbound", form)) == []

    assert await customer_texts(gateway, "tw-dedupe") == ["leave it at the door"]


async def test_stop_blocks_texts_and_start_resumes_them(gateway, fake_twilio):
    picking = await texting_order(gateway, fake_twilio, "tw-stop")
    sender = picking.form["From"]

    # No confirmation of our own: Twilio sends it.
    stop = await post_signed(gateway, "/twilio/inbound", inbound_form(" stop ", sender=sender))
    assert twiml_messages(stop) == []
    assert await sms_view(gateway, "tw-stop") == {"opt_in": False, "source": "keyword"}
    staged = await gateway.event("tw-stop", "staged")
    assert staged.json()["applied"] is True

    start = await post_signed(gateway, "/twilio/inbound", inbound_form("START", sender=sender))
    assert twiml_messages(start) == []
    assert await sms_view(gateway, "tw-stop") == {"opt_in": True, "source": "keyword"}
    await gateway.event("tw-stop", "delivering")

    texts = await fake_twilio.wait_for_accepted(2, timeout=SEND_TIMEOUT)
    bodies = [text.form["Body"] for text in texts]
    assert "on the way" in bodies[1]
    assert not any("is ready" in body for body in bodies), "the staged text went out while blocked"


async def test_twilio_opt_out_type_counts_as_stop(gateway, fake_twilio):
    picking = await texting_order(gateway, fake_twilio, "tw-optout")
    form = inbound_form("please no more", sender=picking.form["From"], OptOutType="STOP")
    assert twiml_messages(await post_signed(gateway, "/twilio/inbound", form)) == []
    assert await sms_view(gateway, "tw-optout") == {"opt_in": False, "source": "keyword"}


@pytest.mark.parametrize("keyword", ["HELP", "info", " Help "])
async def test_help_is_answered_with_the_help_text(gateway, fake_twilio, keyword):
    picking = await texting_order(gateway, fake_twilio, f"tw-help-{keyword.strip().lower()}")
    replies = twiml_messages(
        await post_signed(gateway, "/twilio/inbound", inbound_form(keyword, sender=picking.form["From"]))
    )
    assert len(replies) == 1
    assert "Demo Grocer" in replies[0] and "STOP" in replies[0]


async def test_a_text_from_an_unknown_phone_gets_an_empty_answer(gateway):
    form = inbound_form("who is this?", sender="+15005550006", phone="+15559870000")
    assert twiml_messages(await post_signed(gateway, "/twilio/inbound", form)) == []


# Receipts and 21610 --------------------------------------------------------------------------


async def test_status_callbacks_reach_the_shopper_as_receipts(gateway, fake_twilio):
    await texting_order(gateway, fake_twilio, "tw-receipt")
    ws = await shopper_socket(gateway, "tw-receipt")
    seq = await shopper_says(ws, "tw-receipt", "They are out of oat milk, is almond ok?")
    [text] = [t for t in await fake_twilio.wait_for_accepted(2, SEND_TIMEOUT) if "oat milk" in t.form["Body"]]
    assert text.form["StatusCallback"] == gateway.url + "/twilio/status"

    for status in ("sent", "delivered"):
        response = await post_signed(gateway, "/twilio/status", status_form(text.sid, status))
        assert response.status_code in (200, 204), response.text
        frame = await receipt_reaching(ws, seq, status)
        assert frame == {"type": "receipt", "order_id": "tw-receipt", "seq": seq, "sms": status}


async def test_unsubscribed_answer_from_the_api_blocks_the_phone_on_that_sender(gateway, fake_twilio):
    picking = await texting_order(gateway, fake_twilio, "tw-21610-api")
    ws = await shopper_socket(gateway, "tw-21610-api")

    fake_twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    first = await shopper_says(ws, "tw-21610-api", "Your bananas are green, ok?")
    await receipt_reaching(ws, first, "failed")
    second = await shopper_says(ws, "tw-21610-api", "Hello?")
    await receipt_reaching(ws, second, "not_sent")

    # Only that sender is blocked: another order of the phone, on another number, still texts.
    other = await texting_order(gateway, fake_twilio, "tw-21610-api-other")
    assert other.form["To"] == PHONE
    assert other.form["From"] != picking.form["From"]


async def test_unsubscribed_status_callback_blocks_the_phone_on_that_sender(gateway, fake_twilio):
    await texting_order(gateway, fake_twilio, "tw-21610-cb")
    ws = await shopper_socket(gateway, "tw-21610-cb")
    first = await shopper_says(ws, "tw-21610-cb", "Found everything!")
    texts = await fake_twilio.wait_for_accepted(2, SEND_TIMEOUT)
    [text] = [t for t in texts if t.form["Body"] == "Found everything!"]

    response = await post_signed(gateway, "/twilio/status", status_form(text.sid, "failed", error_code=21610))
    assert response.status_code in (200, 204), response.text
    await receipt_reaching(ws, first, "failed")

    second = await shopper_says(ws, "tw-21610-cb", "Hello?")
    await receipt_reaching(ws, second, "not_sent")
