"""Contract v2 section 5: the HELP reply and the canceled text, with and without the
retailer's `support` contact, as a customer's phone receives them (console provider)."""

from __future__ import annotations

import pytest

from gateway.sms.base import InboundSMS
from support.app_server import RETAILER_KEY, base_config, running_gateway, texts_since

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"
SUPPORT = "call 1-800-555-0100 or example.com/help"


def config(support: str) -> dict:
    demo = {"demo": {"name": "Demo Grocer", "api_key": RETAILER_KEY, "support": support}}
    return base_config(retailers=demo)


async def help_reply(gateway, order_id: str) -> list[str]:
    order = await gateway.services.store.get_order(order_id)
    sms = InboundSMS(sid=f"SM-{order_id}", phone=PHONE, sender=order.sender, body="HELP")
    return await gateway.services.inbound.handle(sms)


@pytest.mark.parametrize("support", ["", SUPPORT])
async def test_help_names_the_retailer_the_texts_how_to_stop_and_the_support_contact(support):
    async with running_gateway(config(support)) as gateway:
        await gateway.picking_order("o-help", customer={"phone": PHONE})

        [reply] = await help_reply(gateway, "o-help")

        assert reply.startswith("Demo Grocer: texts about your order")
        assert "Reply STOP to stop texts" in reply
        assert (SUPPORT in reply) is bool(support)


@pytest.mark.parametrize("support", ["", SUPPORT])
async def test_the_canceled_text_never_sends_a_customer_to_help_without_a_contact(support):
    async with running_gateway(config(support)) as gateway:
        sms = gateway.services.sms
        await gateway.create_order("o-cancel", sms_opt_in=True, customer={"phone": PHONE})

        await gateway.event("o-cancel", "canceled")

        [text] = await texts_since(sms, 0, 1)
        assert text.body.startswith("Your Demo Grocer order o-cancel was canceled.")
        assert "HELP" not in text.body
        assert (SUPPORT in text.body) is bool(support)


async def test_a_retailer_template_can_carry_the_support_contact():
    demo = {"demo": {"name": "Demo Grocer", "api_key": RETAILER_KEY, "support": SUPPORT,
                     "templates": {"staged": "Ready! Questions: {support}"}}}
    async with running_gateway(base_config(retailers=demo)) as gateway:
        await gateway.create_order("o-staged", sms_opt_in=True, customer={"phone": PHONE})

        await gateway.event("o-staged", "staged")

        [text] = await texts_since(gateway.services.sms, 0, 1)
        assert text.body == f"Ready! Questions: {SUPPORT}"
