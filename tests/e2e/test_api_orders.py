"""Contract section 4: creating and reading orders over the HTTP API, and section 5's consent
defaults and sender pool as they show on a new order."""

import pytest

from support.app_server import last_text_number, texts_since, OPERATOR_KEY, OTHER_RETAILER_KEY, RETAILER_KEY, auth, join

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"


def order_body(order_id: str, **overrides) -> dict:
    return {"id": order_id, "workflow": "delivery", "customer": {"phone": PHONE}, **overrides}


async def post_order(gateway, body, *, key: str | None = RETAILER_KEY, **kwargs):
    headers = auth(key) if key is not None else {}
    return await gateway.http.post("/v1/orders", json=body, headers=headers, **kwargs)


def assert_invalid(response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"], error
    assert field in error["fields"], f"expected {field!r} named in {error['fields']}"


async def test_a_new_order_is_created_with_its_view_token_and_status_page(gateway):
    response = await post_order(gateway, order_body("o-new", customer={"phone": PHONE, "name": "Sam"}))

    assert response.status_code == 201, response.text
    view = response.json()
    token = view["customer_token"]
    assert token
    assert view == {
        "id": "o-new",
        "retailer": "demo",
        "workflow": "delivery",
        "status": "brand_new",
        "chat": "not_started",
        "sms": {"opt_in": False, "source": "default"},
        "customer_token": token,
        "status_page_url": f"{gateway.url}/orders/o-new?token={token}",
    }


async def test_the_same_order_again_returns_200_and_the_same_view(gateway):
    first = await post_order(gateway, order_body("o-retry", sms_opt_in=True))
    again = await post_order(gateway, order_body("o-retry", sms_opt_in=True))

    assert first.status_code == 201
    assert again.status_code == 200, again.text
    assert again.json() == first.json()


async def test_the_same_order_spelled_differently_is_still_the_same_order(gateway):
    first = await post_order(gateway, order_body("o-spelling", sms_opt_in=True))
    raw = (
        '{ "customer": {"phone": "+15551230001"}, "sms_opt_in": true,\n'
        '  "workflow": "delivery", "id": "o-spelling" }'
    )

    again = await gateway.http.post(
        "/v1/orders", content=raw.encode(), headers={**auth(RETAILER_KEY), "Content-Type": "application/json"}
    )

    assert again.status_code == 200, again.text
    assert again.json() == first.json()


async def test_the_same_id_with_another_body_is_a_conflict(gateway):
    await post_order(gateway, order_body("o-clash"))

    response = await post_order(gateway, order_body("o-clash", workflow="pickup"))

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"]
    view = await gateway.http.get("/v1/orders/o-clash", headers=auth(RETAILER_KEY))
    assert view.json()["workflow"] == "delivery"


async def test_creating_with_an_unknown_key_is_unauthorized(gateway):
    response = await post_order(gateway, order_body("o-badkey"), key="not-a-key")

    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"]
    assert (await gateway.http.get("/v1/orders/o-badkey", headers=auth(OPERATOR_KEY))).status_code == 404


async def test_creating_without_a_key_is_unauthorized(gateway):
    response = await post_order(gateway, order_body("o-nokey"), key=None)

    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"]


async def test_reading_an_order_with_an_unknown_key_is_unauthorized(gateway):
    await post_order(gateway, order_body("o-read-badkey"))

    response = await gateway.http.get("/v1/orders/o-read-badkey", headers=auth("not-a-key"))

    assert response.status_code == 401, response.text


async def test_the_owning_retailer_and_the_operator_can_read_an_order(gateway):
    created = (await post_order(gateway, order_body("o-read"))).json()

    by_retailer = await gateway.http.get("/v1/orders/o-read", headers=auth(RETAILER_KEY))
    by_operator = await gateway.http.get("/v1/orders/o-read", headers=auth(OPERATOR_KEY))

    assert by_retailer.status_code == 200, by_retailer.text
    assert by_operator.status_code == 200, by_operator.text
    assert by_retailer.json() == created
    assert by_operator.json() == created


async def test_another_retailers_order_is_not_found_when_read(gateway):
    await post_order(gateway, order_body("o-theirs"), key=OTHER_RETAILER_KEY)

    response = await gateway.http.get("/v1/orders/o-theirs", headers=auth(RETAILER_KEY))

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"]


async def test_another_retailers_order_is_not_found_when_posting_events(gateway):
    await post_order(gateway, order_body("o-theirs-ev"), key=OTHER_RETAILER_KEY)

    response = await gateway.event("o-theirs-ev", "acknowledged", key=RETAILER_KEY)

    assert response.status_code == 404, response.text
    owner_view = await gateway.http.get("/v1/orders/o-theirs-ev", headers=auth(OTHER_RETAILER_KEY))
    assert owner_view.json()["status"] == "brand_new"


async def test_an_unknown_order_is_not_found(gateway):
    response = await gateway.http.get("/v1/orders/o-never", headers=auth(OPERATOR_KEY))

    assert response.status_code == 404, response.text


async def test_an_order_without_an_id_is_rejected_naming_id(gateway):
    body = order_body("unused")
    del body["id"]

    assert_invalid(await post_order(gateway, body), "id")


async def test_an_order_with_an_unknown_workflow_is_rejected_naming_workflow(gateway):
    assert_invalid(await post_order(gateway, order_body("o-wf", workflow="drone")), "workflow")


@pytest.mark.parametrize("phone", ["123-0001", "+1555", "+1 555 123 0001 ext 5", "1-800-CALL-NOW", "call me"])
async def test_an_order_with_a_phone_that_cannot_be_read_is_rejected_naming_customer_phone(gateway, phone):
    response = await post_order(gateway, order_body("o-phone", customer={"phone": phone}))

    assert_invalid(response, "customer.phone")
    assert (await gateway.http.get("/v1/orders/o-phone", headers=auth(OPERATOR_KEY))).status_code == 404


async def test_an_order_with_an_unknown_field_is_rejected_naming_it(gateway):
    assert_invalid(await post_order(gateway, order_body("o-extra", colour="blue")), "colour")


async def test_an_order_body_that_is_not_json_is_rejected(gateway):
    response = await gateway.http.post(
        "/v1/orders", content=b"id=o-form&workflow=delivery",
        headers={**auth(RETAILER_KEY), "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"] and error["fields"]


@pytest.mark.parametrize(
    ("workflow", "sms_opt_in", "expected"),
    [
        ("delivery", None, {"opt_in": False, "source": "default"}),
        ("pickup", None, {"opt_in": False, "source": "default"}),
        ("last_mile", None, {"opt_in": True, "source": "default"}),
        ("delivery", True, {"opt_in": True, "source": "order"}),
        ("pickup", True, {"opt_in": True, "source": "order"}),
        ("last_mile", False, {"opt_in": False, "source": "order"}),
    ],
)
async def test_sms_consent_follows_the_order_or_the_workflow_default(gateway, workflow, sms_opt_in, expected):
    extra = {} if sms_opt_in is None else {"sms_opt_in": sms_opt_in}

    response = await post_order(gateway, order_body("o-consent", workflow=workflow, **extra))

    assert response.status_code == 201, response.text
    assert response.json()["sms"] == expected


async def test_two_open_orders_of_one_phone_text_from_different_pool_numbers(gateway):
    sms = gateway.phone
    start = last_text_number(sms)
    await gateway.picking_order("o-pool-1", sms_opt_in=True, customer={"phone": PHONE})
    await gateway.picking_order("o-pool-2", sms_opt_in=True, customer={"phone": PHONE})

    texts = await texts_since(sms, start, 2)

    assert [t.to for t in texts] == [PHONE, PHONE]
    senders = {t.sender for t in texts}
    assert len(senders) == 2, f"expected two different sender numbers, got {senders}"
    assert senders <= set(gateway.settings.sms.numbers)


async def test_another_retailer_reusing_an_order_id_gets_a_conflict_not_the_order(gateway):
    mine = (await post_order(gateway, order_body("o-shared-id"))).json()

    response = await post_order(gateway, order_body("o-shared-id"), key=OTHER_RETAILER_KEY)

    assert response.status_code == 409, response.text
    assert mine["customer_token"] not in response.text


# --- shopper tokens ---------------------------------------------------------------------------


async def test_the_operator_mints_a_shopper_token_that_opens_the_shopper_socket(gateway):
    response = await gateway.http.post("/v1/shoppers/shopper-9/tokens", headers=auth(OPERATOR_KEY))

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    assert body["expires_at"].endswith("Z") or "+00:00" in body["expires_at"], body["expires_at"]
    shopper = await gateway.connect("shopper", body["token"])
    await gateway.picking_order("o-for-9", shopper_id="shopper-9")
    joined = await join(shopper, "o-for-9")
    assert joined["order"]["chat"] == "open"


async def test_a_retailer_may_not_mint_shopper_tokens(gateway):
    response = await gateway.http.post("/v1/shoppers/shopper-9/tokens", headers=auth(RETAILER_KEY))

    assert response.status_code in (401, 403), response.text
    assert "token" not in response.json()


async def test_minting_a_shopper_token_without_a_key_is_unauthorized(gateway):
    response = await gateway.http.post("/v1/shoppers/shopper-9/tokens")

    assert response.status_code == 401, response.text
