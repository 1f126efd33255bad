"""Odd and oversized input gets a clear error, never a 500 or a dead socket."""

import json

import pytest

from support.app_server import (
    OPERATOR_KEY,
    RETAILER_KEY,
    auth,
    frame_of,
    join,
    next_frame,
    send_text,
)

pytestmark = pytest.mark.e2e


async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(gateway):
    raw = b'{"id":"o-bytes","workflow":"delivery","customer":{"phone":"+15551230001","name":"\xff"}}'
    response = await gateway.http.post("/v1/orders", content=raw, headers=auth(RETAILER_KEY))
    assert response.status_code == 422
    assert "body" in response.json()["error"]["fields"]


async def test_an_oversized_body_is_refused_with_413(gateway):
    body = {"id": "o-big", "workflow": "delivery", "customer": {"phone": "+15551230001", "name": "x" * 70_000}}
    response = await gateway.http.post("/v1/orders", json=body, headers=auth(RETAILER_KEY))
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


async def test_a_long_customer_name_is_a_422_naming_it(gateway):
    response = await gateway.create_order("o-name", customer={"phone": "+15551230001", "name": "x" * 129})
    assert response.status_code == 422
    assert "customer.name" in response.json()["error"]["fields"]


async def test_a_very_long_chat_text_is_too_long_and_the_socket_stays(gateway):
    await gateway.picking_order("o-long")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-long")
    await send_text(shopper, "o-long", "x" * 70_000, "c-long")
    refused = await frame_of(shopper, "error")
    assert (refused["code"], refused["client_id"]) == ("too_long", "c-long")
    await shopper.send(json.dumps({"type": "ping"}))
    assert (await next_frame(shopper))["type"] == "pong"


async def test_a_resume_point_beyond_any_integer_json_carries_is_a_bad_frame(gateway):
    view = await gateway.picking_order("o-after")
    customer = await gateway.connect("customer", view["customer_token"])
    await customer.send(json.dumps({"type": "join", "order_id": "o-after", "after": 2**63 - 1}))
    assert (await frame_of(customer, "error"))["code"] == "bad_frame"
    assert (await join(customer, "o-after"))["last_seq"] == 0  # and the socket still works


@pytest.mark.parametrize("shopper_id", ["sh x", "s@x.com"])
async def test_a_shopper_token_is_only_minted_for_an_id_an_event_can_assign(gateway, shopper_id):
    response = await gateway.http.post(f"/v1/shoppers/{shopper_id}/tokens", headers=auth(OPERATOR_KEY))
    assert response.status_code == 422
    assert "shopper_id" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/v1/nowhere", 404, "not_found"), ("DELETE", "/v1/orders/x", 405, "method_not_allowed")],
)
async def test_unknown_routes_and_methods_answer_in_the_error_shape(gateway, method, path, status, code):
    response = await gateway.http.request(method, path, headers=auth(OPERATOR_KEY))
    assert response.status_code == status and response.json()["error"]["code"] == code
