"""Contract section 4: `GET /v1/orders/{id}/consent`, the consent log a retailer keeps to prove
consent: every change with its time and source, oldest first, from the order's creation on."""

from __future__ import annotations

import time

import pytest

from gateway.clock import parse_iso
from support.app_server import (
    OPERATOR_KEY,
    OTHER_RETAILER_KEY,
    RETAILER_KEY,
    RunningGateway,
    auth,
    base_config,
    running_gateway,
)
from support.fake_twilio import FakeTwilio
from support.twilio_webhooks import PHONE, inbound_form, post_signed, twiml_messages

pytestmark = pytest.mark.e2e


async def consent_log(gateway: RunningGateway, order_id: str, key: str = RETAILER_KEY) -> dict:
    response = await gateway.http.get(f"/v1/orders/{order_id}/consent", headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def steps(log: dict) -> list[tuple[bool, str]]:
    return [(change["opt_in"], change["source"]) for change in log["changes"]]


async def put_sms(gateway: RunningGateway, order_id: str, opt_in: bool, key: str) -> int:
    response = await gateway.http.put(f"/v1/orders/{order_id}/sms", json={"opt_in": opt_in}, headers=auth(key))
    return response.status_code


async def test_a_new_order_logs_its_consent_at_creation_with_the_time(gateway):
    before = time.time()
    await gateway.create_order("c-order", sms_opt_in=True)
    await gateway.create_order("c-default")

    given = await consent_log(gateway, "c-order")
    defaulted = await consent_log(gateway, "c-default")

    assert given == {"opt_in": True, "source": "order", "changes": [given["changes"][0]]}
    assert steps(given) == [(True, "order")]
    assert steps(defaulted) == [(False, "default")]
    assert (defaulted["opt_in"], defaulted["source"]) == (False, "default")
    at = given["changes"][0]["at"]
    assert at.endswith("Z")
    assert before - 1 <= parse_iso(at).timestamp() <= time.time() + 1


async def test_page_switch_and_support_changes_are_logged_oldest_first(gateway):
    view = (await gateway.create_order("c-changes")).json()

    assert await put_sms(gateway, "c-changes", True, view["customer_token"]) == 200
    assert await put_sms(gateway, "c-changes", False, OPERATOR_KEY) == 200
    assert await put_sms(gateway, "c-changes", True, OPERATOR_KEY) == 200

    log = await consent_log(gateway, "c-changes", key=OPERATOR_KEY)
    assert steps(log) == [(False, "default"), (True, "customer"), (False, "support"), (True, "support")]
    assert (log["opt_in"], log["source"]) == (True, "support")
    times = [parse_iso(change["at"]) for change in log["changes"]]
    assert times == sorted(times)


async def test_the_log_is_the_owning_retailers_and_the_operators_only(gateway):
    view = (await gateway.create_order("c-private")).json()

    other = await gateway.http.get("/v1/orders/c-private/consent", headers=auth(OTHER_RETAILER_KEY))
    customer = await gateway.http.get("/v1/orders/c-private/consent", headers=auth(view["customer_token"]))
    wrong_key = await gateway.http.get("/v1/orders/c-private/consent", headers=auth("not-a-key"))
    no_key = await gateway.http.get("/v1/orders/c-private/consent")
    missing = await gateway.http.get("/v1/orders/no-such-order/consent", headers=auth(OPERATOR_KEY))

    assert (other.status_code, other.json()["error"]["code"]) == (404, "not_found")
    assert (customer.status_code, customer.json()["error"]["code"]) == (403, "forbidden")
    assert (wrong_key.status_code, no_key.status_code) == (401, 401)
    assert missing.status_code == 404
    assert steps(await consent_log(gateway, "c-private", key=OPERATOR_KEY)) == [(False, "default")]


@pytest.fixture
async def twilio_gateway(fake_twilio: FakeTwilio):
    async with running_gateway(base_config(sms=fake_twilio.sms_config())) as running:
        yield running


async def test_stop_and_start_texted_by_the_customer_are_logged_as_keyword(twilio_gateway):
    gateway = twilio_gateway
    await gateway.create_order("c-keyword", sms_opt_in=True, customer={"phone": PHONE})
    sender = (await gateway.services.store.get_order("c-keyword")).sender

    stop = await post_signed(gateway, "/twilio/inbound", inbound_form("Stop", sender=sender))
    assert twiml_messages(stop) == []  # Twilio confirms STOP; the gateway says nothing
    refused = await put_sms(gateway, "c-keyword", True, OPERATOR_KEY)  # STOP wins over support
    start = await post_signed(gateway, "/twilio/inbound", inbound_form("START", sender=sender))
    twiml_messages(start)

    log = await consent_log(gateway, "c-keyword")
    assert refused == 409
    assert steps(log) == [(True, "order"), (False, "keyword"), (True, "keyword")]
    assert (log["opt_in"], log["source"]) == (True, "keyword")
