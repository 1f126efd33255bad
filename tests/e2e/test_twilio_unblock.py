"""A carrier block (Twilio 21610) on one sender lasts until the customer texts START to it."""

import pytest

from support.app_server import base_config, frame_of, join, running_gateway, send_text
from support.fake_twilio import FakeTwilio
from support.twilio_webhooks import inbound_form, post_signed, twiml_messages

pytestmark = pytest.mark.e2e

SEND_TIMEOUT = 10.0


async def receipt_for(ws, seq: int, final: set[str]) -> str:
    """The SMS state message `seq` settles in (skipping `queued` and other messages' receipts)."""
    while True:
        receipt = await frame_of(ws, "receipt", timeout=SEND_TIMEOUT)
        if receipt["seq"] == seq and receipt["sms"] in final:
            return receipt["sms"]


async def test_start_lifts_the_carrier_block_on_that_sender(fake_twilio: FakeTwilio):
    config = base_config(sms=fake_twilio.sms_config())
    async with running_gateway(config) as gateway:
        await gateway.picking_order("o-21610", sms_opt_in=True)
        [picking] = await fake_twilio.wait_for_accepted(1, timeout=SEND_TIMEOUT)
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        await join(shopper, "o-21610")

        fake_twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
        await send_text(shopper, "o-21610", "Out of eggs; brown ok?", "m1")
        assert await receipt_for(shopper, 1, {"failed", "not_sent"}) == "failed"
        await send_text(shopper, "o-21610", "Hello?", "m2")
        assert await receipt_for(shopper, 2, {"queued", "not_sent"}) == "not_sent"

        start = inbound_form("START", sender=picking.form["From"])
        assert twiml_messages(await post_signed(gateway, "/twilio/inbound", start)) == []
        await send_text(shopper, "o-21610", "Brown eggs it is.", "m3")
        assert await receipt_for(shopper, 3, {"queued", "not_sent"}) == "queued"
        sent = await fake_twilio.wait_for_accepted(2, timeout=SEND_TIMEOUT)
        assert sent[-1].form["Body"] == "Brown eggs it is."
