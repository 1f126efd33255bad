"""/dev in console mode: a demo order its shopper can work, and a phone that sees the texts
sent to the demo customer and can text back through the inbound path."""

from __future__ import annotations

import asyncio

import pytest

from support.app_server import base_config, frame_of, join, running_gateway, send_text

pytestmark = pytest.mark.e2e

TEXT_TIMEOUT = 10.0


async def demo(gateway) -> dict:
    response = await gateway.http.post("/dev/api/demo")
    assert response.status_code == 201, response.text
    return response.json()


async def post_event(gateway, order_id: str, event_name: str):
    return await gateway.http.post(f"/dev/api/orders/{order_id}/events", json={"event_name": event_name})


async def texts_after(gateway, n: int) -> list[dict]:
    response = await gateway.http.get("/dev/api/phone/texts", params={"after": n}, timeout=25)
    assert response.status_code == 200, response.text
    return response.json()["texts"]


async def texts_until(gateway, body: str) -> list[dict]:
    """Long-polls the phone until a text with this body has arrived; returns all so far."""
    texts: list[dict] = []
    while not any(text["body"] == body for text in texts):
        texts += await texts_after(gateway, texts[-1]["n"] if texts else 0)
    return texts


async def test_dev_page_is_served(gateway):
    response = await gateway.http.get("/dev")

    assert response.status_code == 200
    assert "Create demo order" in response.text


async def test_demo_order_is_new_opted_in_and_its_page_opens(gateway):
    made = await demo(gateway)

    order = made["order"]
    assert (order["retailer"], order["workflow"], order["status"], order["chat"]) == (
        "demo", "delivery", "brand_new", "not_started",
    )
    assert order["sms"] == {"opt_in": True, "source": "order"}
    assert made["shopper_id"] == "shopper-demo"
    assert made["phone"].startswith("+1555") and len(made["phone"]) == 12
    page = await gateway.http.get(order["status_page_url"].removeprefix(gateway.url))
    assert page.status_code == 200


async def test_demo_shopper_works_the_order_after_its_first_event(gateway):
    made = await demo(gateway)
    order_id = made["order"]["id"]

    moved = await post_event(gateway, order_id, "picking")

    assert moved.json() == {"applied": True, "status": "picking"}
    shopper = await gateway.connect("shopper", made["shopper_token"])
    joined = await join(shopper, order_id)
    assert joined["order"] == {
        "status": "picking", "chat": "open", "workflow": "delivery", "shopper": {"name": "Alex"}
    }


async def test_demo_events_are_checked(gateway):
    made = await demo(gateway)

    unknown_event = await post_event(gateway, made["order"]["id"], "teleported")
    unknown_order = await post_event(gateway, "demo-nope", "picking")

    assert unknown_event.status_code == 422
    assert "event_name" in unknown_event.json()["error"]["fields"]
    assert unknown_order.status_code == 404


async def test_phone_sees_texts_to_the_demo_customer(gateway):
    made = await demo(gateway)
    await post_event(gateway, made["order"]["id"], "picking")
    shopper = await gateway.connect("shopper", made["shopper_token"])
    await join(shopper, made["order"]["id"])
    await send_text(shopper, made["order"]["id"], "Hi Sam, Alex here", "c1")
    await frame_of(shopper, "ack")

    texts = await asyncio.wait_for(texts_until(gateway, "Hi Sam, Alex here"), TEXT_TIMEOUT)

    assert {text["to"] for text in texts} == {made["phone"]}
    assert any("is shopping your Demo Grocer order" in text["body"] for text in texts)
    assert [text["n"] for text in texts] == sorted(text["n"] for text in texts)


async def test_phone_text_back_joins_the_chat_and_keywords_reply(gateway):
    made = await demo(gateway)
    order_id = made["order"]["id"]
    await post_event(gateway, order_id, "picking")
    shopper = await gateway.connect("shopper", made["shopper_token"])
    await join(shopper, order_id)

    chat = await gateway.http.post(
        "/dev/api/phone/reply", json={"phone": made["phone"], "sender": made["sender"], "body": "Ripe bananas"}
    )
    help_ = await gateway.http.post(
        "/dev/api/phone/reply", json={"phone": made["phone"], "sender": made["sender"], "body": "HELP"}
    )

    assert chat.json() == {"replies": []}
    message = (await frame_of(shopper, "message"))["message"]
    assert (message["from"], message["via"], message["text"]) == ("customer", "sms", "Ripe bananas")
    assert len(help_.json()["replies"]) == 1 and "Reply STOP" in help_.json()["replies"][0]


async def test_phone_reply_body_is_checked(gateway):
    response = await gateway.http.post("/dev/api/phone/reply", json={"phone": "+15551230001"})

    assert response.status_code == 422
    assert "sender" in response.json()["error"]["fields"]


async def test_dev_is_absent_unless_sms_is_console():
    raw = base_config(
        sms={"provider": "twilio", "twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "t",
             "twilio_api_base": "http://127.0.0.1:9"}
    )
    async with running_gateway(raw) as gateway:
        for method, path in (("GET", "/dev"), ("POST", "/dev/api/demo"), ("GET", "/dev/api/phone/texts")):
            response = await gateway.http.request(method, path)
            assert response.status_code == 404, path
