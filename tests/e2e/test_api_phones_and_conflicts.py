"""Contract v2 section 4 at the HTTP API: phones written the way people write them are
normalised in `default_region`; unreadable ones are 422 in our words; a 409 names what differs."""

from __future__ import annotations

import pytest

from support.app_server import OPERATOR_KEY, OTHER_RETAILER_KEY, RETAILER_KEY, auth, base_config, running_gateway

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"


async def create(gateway, order_id: str, **body):
    payload = {"id": order_id, "workflow": "delivery", "customer": {"phone": PHONE}, **body}
    return await gateway.http.post("/v1/orders", json=payload, headers=auth(RETAILER_KEY))


async def stored_phone(gateway, order_id: str) -> str:
    return (await gateway.services.store.get_order(order_id)).customer_phone


@pytest.mark.parametrize(
    "written", ["(555) 123-0001", "555.123.0001", "555 123 0001", "1-555-123-0001", "+1 (555) 123-0001"]
)
async def test_a_phone_written_nationally_or_with_punctuation_is_stored_as_e164(gateway, written):
    response = await create(gateway, "o-written", customer={"phone": written})

    assert response.status_code == 201, response.text
    assert await stored_phone(gateway, "o-written") == PHONE


async def test_a_national_phone_is_read_in_the_configured_region():
    async with running_gateway(base_config(sms={"default_region": "GB"})) as gateway:
        response = await create(gateway, "o-uk", customer={"phone": "07700 900123"})

        assert response.status_code == 201, response.text
        assert await stored_phone(gateway, "o-uk") == "+447700900123"


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("555-CALL-NOW", "digits, spaces, dashes, dots, parentheses and one leading +"),
        ("+1 555 123 0001 x12", "digits, spaces, dashes, dots, parentheses and one leading +"),
        ("+1555\u200b1230001", "digits, spaces, dashes, dots, parentheses and one leading +"),
        ("\u0665\u0665\u0665\u0661\u0662\u0663\u0660\u0660\u0660\u0661", "digits, spaces, dashes"),  # Arabic-Indic
        ("+1 555 123", "not a possible phone number for country code +1"),
        ("+999 555 1230", "known country code"),
    ],
)
async def test_an_unreadable_phone_is_422_in_our_words(gateway, written, says):
    response = await create(gateway, "o-bad-phone", customer={"phone": written})

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert list(error["fields"]) == ["customer.phone"]
    assert says in error["fields"]["customer.phone"]
    assert "`" not in error["message"] and "plus-sign" not in error["message"]


async def test_the_same_phone_written_another_way_is_a_retry_not_a_conflict(gateway):
    first = await create(gateway, "o-retry-phone", customer={"phone": PHONE})
    again = await create(gateway, "o-retry-phone", customer={"phone": "(555) 123-0001"})

    assert again.status_code == 200, again.text
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"workflow": "pickup"}, ["workflow"]),
        ({"customer": {"phone": "+15551230002"}}, ["customer.phone"]),
        ({"customer": {"phone": PHONE, "name": "Sam"}}, ["customer.name"]),
        ({"sms_opt_in": True}, ["sms_opt_in"]),
        ({"locale": "fr-CA"}, ["locale"]),
        ({"workflow": "pickup", "locale": "fr-CA", "sms_opt_in": False}, ["workflow", "sms_opt_in", "locale"]),
    ],
)
async def test_a_conflict_names_the_fields_that_differ(gateway, changes, fields):
    assert (await create(gateway, "o-clash")).status_code == 201

    response = await create(gateway, "o-clash", **changes)

    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert sorted(error["fields"]) == sorted(fields)
    for field in fields:
        assert field in error["message"]


async def test_an_explicit_default_opt_in_still_differs_from_an_absent_one(gateway):
    # Absent means "the workflow's default"; false said out loud is the retailer's word.
    assert (await create(gateway, "o-optin")).status_code == 201
    response = await create(gateway, "o-optin", sms_opt_in=False)

    assert response.status_code == 409, response.text
    assert list(response.json()["error"]["fields"]) == ["sms_opt_in"]


async def test_a_conflict_with_another_retailers_order_names_only_the_id(gateway):
    await create(gateway, "o-theirs")
    payload = {"id": "o-theirs", "workflow": "delivery", "customer": {"phone": PHONE}}
    response = await gateway.http.post("/v1/orders", json=payload, headers=auth(OTHER_RETAILER_KEY))

    assert response.status_code == 409, response.text
    assert list(response.json()["error"]["fields"]) == ["id"]
    own = await gateway.http.get("/v1/orders/o-theirs", headers=auth(OPERATOR_KEY))
    assert own.json()["retailer"] == "demo"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"id": "o 1", "workflow": "delivery", "customer": {"phone": PHONE}}, "id",
         "expected 1-128 letters, digits or ._:- starting with a letter or digit"),
        ({"id": "o-1", "workflow": "drone", "customer": {"phone": PHONE}}, "workflow",
         'expected "delivery" or "pickup" or "last_mile", got \'drone\''),
        ({"id": "o-1", "workflow": "delivery", "customer": {"phone": 5551230001}}, "customer.phone",
         "expected a string, got a whole number"),
        ({"id": "o-1", "workflow": "delivery"}, "customer", "required"),
        ({"id": "o-1", "workflow": "delivery", "customer": {"phone": PHONE}, "colour": "blue"}, "colour",
         "not a known field"),
        ({"id": "o-1", "workflow": "delivery", "customer": {"phone": PHONE, "name": "x" * 129}}, "customer.name",
         "expected at most 128 characters"),
    ],
)
async def test_a_bad_body_is_422_in_the_contracts_words_not_the_librarys(gateway, body, field, says):
    response = await gateway.http.post("/v1/orders", json=body, headers=auth(RETAILER_KEY))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["fields"] == {field: says}
    assert "`" not in response.text and "regex" not in response.text and "$." not in response.text
