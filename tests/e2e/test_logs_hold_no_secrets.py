"""Contract section 2, logs: a whole conversation through a real `gateway serve` process (an
order created with a phone, picking, shopper and customer sockets chatting, a signed inbound
text, a status callback, the status page), then every token, key, phone and message text used
is searched for in everything the process wrote. With log_format = "json" every line is one
JSON object with ts, level, logger and msg, and order_id where the line is about an order."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest
import websockets
from twilio.request_validator import RequestValidator

from support.app_server import FRAME_TIMEOUT, frame_of, join, send_text
from support.fake_twilio import FakeTwilio
from support.gateway_process import START_TIMEOUT, free_port, serving_process

pytestmark = pytest.mark.e2e

SECRET = "log-test-secret-" + secrets.token_hex(8)
OPERATOR_KEY = "op-log-test-" + secrets.token_hex(8)
RETAILER_KEY = "rk-log-test-" + secrets.token_hex(8)
PHONE = "+15551230987"
PHONE_AS_WRITTEN = "(555) 123-0987"
SENDER = "+15005550006"
SHOPPER_TEXT = "Your oat milk is out, is almond fine? " + secrets.token_hex(4)
PAGE_TEXT = "Almond is fine, thanks " + secrets.token_hex(4)
SMS_TEXT = "Also grab bananas please " + secrets.token_hex(4)
ORDER_ID = "o-logs-1"


def config(port: int, log_format: str, fake: FakeTwilio) -> str:
    return f"""
[gateway]
public_url = "http://127.0.0.1:{port}"
secret = "{SECRET}"
operator_key = "{OPERATOR_KEY}"
log_format = "{log_format}"

[sms]
provider = "twilio"
numbers = ["{SENDER}"]
twilio_account_sid = "{fake.account_sid}"
twilio_auth_token = "{fake.auth_token}"
twilio_api_base = "{fake.base_url}"
chat_fallback = "0s"

[retailers.demo]
name = "Demo Grocer"
api_key = "{RETAILER_KEY}"
support = "call 1-800-555-0100"
"""


async def message_saying(ws, text: str) -> dict:
    """The next message frame with this text (a sender gets its own messages too)."""
    while (frame := await frame_of(ws, "message"))["message"]["text"] != text:
        pass
    return frame


def signed(url: str, form: dict, token: str) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


async def converse(base: str, fake: FakeTwilio) -> list[str]:
    """Drives one order through everything a log line could be written about; returns the
    tokens it was handed (customer and shopper)."""
    ws_base = base.replace("http", "ws", 1)
    retailer = {"Authorization": f"Bearer {RETAILER_KEY}"}
    operator = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=START_TIMEOUT) as http:
        assert (await http.get("/healthz")).status_code == 200  # queued until the app is up
        body = {"id": ORDER_ID, "workflow": "delivery", "customer": {"phone": PHONE_AS_WRITTEN}, "sms_opt_in": True}
        created = await http.post("/v1/orders", json=body, headers=retailer)
        assert created.status_code == 201, created.text
        customer_token = created.json()["customer_token"]
        event = {"event_id": "ev-1", "event_name": "picking", "shopper": {"id": "shopper-1", "name": "Alex"}}
        assert (await http.post(f"/v1/orders/{ORDER_ID}/events", json=event, headers=operator)).status_code == 200
        minted = await http.post("/v1/shoppers/shopper-1/tokens", headers=operator)
        shopper_token = minted.json()["token"]
        [picking_text] = await fake.wait_for_accepted(1, FRAME_TIMEOUT)
        assert picking_text.form["To"] == PHONE

        async with (
            websockets.connect(f"{ws_base}/ws/shopper?token={shopper_token}", open_timeout=FRAME_TIMEOUT) as shopper,
            websockets.connect(f"{ws_base}/ws/customer?token={customer_token}", open_timeout=FRAME_TIMEOUT) as customer,
        ):
            await join(shopper, ORDER_ID)
            await join(customer, ORDER_ID)
            await send_text(shopper, ORDER_ID, SHOPPER_TEXT, "c-1")
            await message_saying(customer, SHOPPER_TEXT)
            await send_text(customer, ORDER_ID, PAGE_TEXT, "c-2")
            await message_saying(shopper, PAGE_TEXT)

            inbound = {
                "MessageSid": "SM" + secrets.token_hex(16), "AccountSid": fake.account_sid,
                "From": PHONE, "To": SENDER, "Body": SMS_TEXT, "NumMedia": "0",
            }
            url = f"{base}/twilio/inbound"
            answered = await http.post(url, data=inbound, headers=signed(url, inbound, fake.auth_token))
            assert answered.status_code == 200, answered.text
            await message_saying(shopper, SMS_TEXT)

        status = {"MessageSid": picking_text.sid, "MessageStatus": "delivered", "To": PHONE, "From": SENDER}
        url = f"{base}/twilio/status"
        assert (await http.post(url, data=status, headers=signed(url, status, fake.auth_token))).status_code == 200
        forged = await http.post(url, data=status, headers={"X-Twilio-Signature": "forged"})
        assert forged.status_code == 403

        page = await http.get(f"/orders/{ORDER_ID}", params={"token": customer_token})
        assert page.status_code == 200
        by_header = {"Authorization": f"Bearer {customer_token}"}
        history = await http.get(f"/v1/orders/{ORDER_ID}/messages", headers=by_header)
        texts = [message["text"] for message in history.json()["messages"]]
        assert texts == [SHOPPER_TEXT, PAGE_TEXT, SMS_TEXT]
        by_query = await http.get(f"/v1/orders/{ORDER_ID}/messages", params={"token": customer_token})
        assert by_query.status_code == 200
    return [customer_token, shopper_token]


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_whole_conversation_leaves_no_token_phone_or_text_in_the_logs(tmp_path, fake_twilio, log_format):
    port = free_port()
    path = tmp_path / "gateway.toml"
    path.write_text(config(port, log_format, fake_twilio), encoding="utf-8")

    async with serving_process("--config", str(path), "--port", str(port)) as gateway:
        tokens = await converse(f"http://127.0.0.1:{port}", fake_twilio)
        # Logged after every line of the conversation: once it is read, they all are.
        await gateway.line(lambda line: f"/v1/orders/{ORDER_ID}/messages?token=" in line)
    output = gateway.output

    # Access logs are on, and masked: the lines exist, their credentials do not.
    assert f"/ws/customer?token=***" in output and "/ws/shopper?token=***" in output
    assert f"/orders/{ORDER_ID}?token=***" in output
    forbidden = {
        "customer token": tokens[0], "shopper token": tokens[1], "secret": SECRET,
        "operator key": OPERATOR_KEY, "retailer key": RETAILER_KEY, "auth token": fake_twilio.auth_token,
        "phone": PHONE, "phone digits": PHONE.removeprefix("+1"), "phone as written": PHONE_AS_WRITTEN,
        "phone in a URL": "%2B" + PHONE[1:],
        "shopper text": SHOPPER_TEXT, "page text": PAGE_TEXT, "sms text": SMS_TEXT,
    }
    for what, value in forbidden.items():
        assert value not in output, f"the {what} is in the log:\n{output}"
    # Pieces of a token are no better than the whole.
    for token in tokens:
        for part in token.split("."):
            assert part not in output, f"part of a token is in the log:\n{output}"

    if log_format == "json":
        lines = [json.loads(line) for line in gateway.stderr]  # every line parses
        for line in lines:
            assert {"ts", "level", "logger", "msg"} <= set(line), line
        loggers = {line["logger"] for line in lines}
        assert {"uvicorn.access", "uvicorn.error"} <= loggers  # uvicorn's lines share the format
        about_the_order = [line for line in lines if f"/orders/{ORDER_ID}" in line["msg"]]
        assert about_the_order and all(line.get("order_id") == ORDER_ID for line in about_the_order)
