"""Contract section 4: `PUT /v1/orders/{id}/sms` (who may set consent, and STOP winning over it)
and `GET /v1/orders/{id}/messages` (the transcript, paged)."""

import pytest

from support.app_server import (
    OPERATOR_KEY,
    OTHER_RETAILER_KEY,
    RETAILER_KEY,
    auth,
    base_config,
    frame_of,
    join,
    running_gateway,
    send_text,
)
from support.clocks import SteppedClock

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"


async def put_sms(gateway, order_id: str, opt_in: bool, key: str):
    return await gateway.http.put(f"/v1/orders/{order_id}/sms", json={"opt_in": opt_in}, headers=auth(key))


async def text_in(gateway, order_id: str, body: str, sid: str) -> list[str]:
    """The customer texts `body` to the order's number; returns the gateway's replies."""
    order = await gateway.services.store.get_order(order_id)
    return await gateway.text_in(order.customer_phone, order.sender, body, sid)


async def sms_view(gateway, order_id: str) -> dict:
    response = await gateway.http.get(f"/v1/orders/{order_id}", headers=auth(OPERATOR_KEY))
    return response.json()["sms"]


async def test_support_turning_texts_on_records_source_support(gateway):
    await gateway.create_order("o-support")

    response = await put_sms(gateway, "o-support", True, OPERATOR_KEY)

    assert response.status_code == 200, response.text
    assert response.json() == {"opt_in": True, "source": "support"}
    assert await sms_view(gateway, "o-support") == {"opt_in": True, "source": "support"}


async def test_the_customer_token_turning_texts_off_records_source_customer(gateway):
    view = (await gateway.create_order("o-cust", sms_opt_in=True)).json()

    response = await put_sms(gateway, "o-cust", False, view["customer_token"])

    assert response.status_code == 200, response.text
    assert response.json() == {"opt_in": False, "source": "customer"}
    assert await sms_view(gateway, "o-cust") == {"opt_in": False, "source": "customer"}


async def test_a_customer_token_cannot_set_another_orders_consent(gateway):
    mine = (await gateway.create_order("o-mine", customer={"phone": "+15551230001"})).json()
    await gateway.create_order("o-yours", customer={"phone": "+15551230002"})

    response = await put_sms(gateway, "o-yours", True, mine["customer_token"])

    assert response.status_code == 404, response.text
    assert await sms_view(gateway, "o-yours") == {"opt_in": False, "source": "default"}


async def test_the_retailer_key_may_not_set_consent(gateway):
    await gateway.create_order("o-ret")

    response = await put_sms(gateway, "o-ret", True, RETAILER_KEY)

    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"]
    assert await sms_view(gateway, "o-ret") == {"opt_in": False, "source": "default"}


async def test_an_unknown_key_may_not_set_consent(gateway):
    await gateway.create_order("o-unk")

    response = await put_sms(gateway, "o-unk", True, "not-a-key")

    assert response.status_code == 401, response.text


async def test_a_consent_body_without_opt_in_is_rejected_naming_it(gateway):
    await gateway.create_order("o-body")

    response = await gateway.http.put("/v1/orders/o-body/sms", json={"optin": True}, headers=auth(OPERATOR_KEY))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"]


async def test_opting_in_after_stop_is_refused_until_the_customer_texts_start(gateway):
    view = (await gateway.create_order("o-stop", sms_opt_in=True, customer={"phone": PHONE})).json()
    assert await text_in(gateway, "o-stop", "stop", "SM-stop-1") == []
    assert await sms_view(gateway, "o-stop") == {"opt_in": False, "source": "keyword"}

    by_support = await put_sms(gateway, "o-stop", True, OPERATOR_KEY)
    by_customer = await put_sms(gateway, "o-stop", True, view["customer_token"])

    for refused in (by_support, by_customer):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "opted_out_by_keyword"
    assert await sms_view(gateway, "o-stop") == {"opt_in": False, "source": "keyword"}

    await text_in(gateway, "o-stop", "START", "SM-start-1")
    assert await sms_view(gateway, "o-stop") == {"opt_in": True, "source": "keyword"}
    off = await put_sms(gateway, "o-stop", False, view["customer_token"])
    on = await put_sms(gateway, "o-stop", True, view["customer_token"])
    assert off.status_code == on.status_code == 200, (off.text, on.text)
    assert on.json() == {"opt_in": True, "source": "customer"}


async def test_opting_out_is_allowed_while_blocked_by_stop(gateway):
    await gateway.create_order("o-stop-off", sms_opt_in=True)
    await text_in(gateway, "o-stop-off", "STOP", "SM-stop-2")

    response = await put_sms(gateway, "o-stop-off", False, OPERATOR_KEY)

    assert response.status_code == 200, response.text
    assert response.json() == {"opt_in": False, "source": "support"}


async def chat_of(gateway, order_id: str, count: int) -> list[dict]:
    """An open order with `count` shopper messages, each acked (so stored)."""
    await gateway.picking_order(order_id)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, order_id)
    acked = []
    for n in range(1, count + 1):
        await send_text(shopper, order_id, f"message {n}", f"c{n}")
        acked.append((await frame_of(shopper, "ack"))["message"])
    return acked


async def test_the_transcript_pages_with_after_and_limit(gateway):
    acked = await chat_of(gateway, "o-page", 5)

    page = await gateway.http.get("/v1/orders/o-page/messages?after=1&limit=2", headers=auth(RETAILER_KEY))
    rest = await gateway.http.get("/v1/orders/o-page/messages?after=3", headers=auth(OPERATOR_KEY))
    beyond = await gateway.http.get("/v1/orders/o-page/messages?after=5", headers=auth(OPERATOR_KEY))

    assert page.status_code == 200, page.text
    assert page.json() == {"messages": acked[1:3], "last_seq": 5}
    assert rest.json() == {"messages": acked[3:], "last_seq": 5}
    assert beyond.json() == {"messages": [], "last_seq": 5}
    assert [m["seq"] for m in acked] == [1, 2, 3, 4, 5]
    assert acked[0]["from"] == "shopper" and acked[0]["via"] == "app" and acked[0]["text"] == "message 1"


async def test_an_empty_transcript_has_last_seq_zero(gateway):
    await gateway.create_order("o-empty")

    response = await gateway.http.get("/v1/orders/o-empty/messages", headers=auth(OPERATOR_KEY))

    assert response.json() == {"messages": [], "last_seq": 0}


async def test_a_bad_after_is_rejected_naming_it(gateway):
    await gateway.create_order("o-bad-after")

    response = await gateway.http.get("/v1/orders/o-bad-after/messages?after=soon", headers=auth(OPERATOR_KEY))

    assert response.status_code == 422, response.text
    assert "after" in response.json()["error"]["fields"]


async def test_the_customer_token_reads_its_orders_transcript(gateway):
    acked = await chat_of(gateway, "o-read-own", 2)
    token = (await gateway.http.get("/v1/orders/o-read-own", headers=auth(OPERATOR_KEY))).json()["customer_token"]

    response = await gateway.http.get("/v1/orders/o-read-own/messages", headers=auth(token))

    assert response.status_code == 200, response.text
    assert response.json() == {"messages": acked, "last_seq": 2}


async def test_the_customer_token_cannot_read_another_orders_transcript(gateway):
    await chat_of(gateway, "o-secret", 1)
    other = (await gateway.create_order("o-nosy", customer={"phone": "+15551230009"})).json()

    response = await gateway.http.get("/v1/orders/o-secret/messages", headers=auth(other["customer_token"]))

    assert response.status_code == 404, response.text


async def test_another_retailer_cannot_read_the_transcript(gateway):
    await chat_of(gateway, "o-private", 1)

    response = await gateway.http.get("/v1/orders/o-private/messages", headers=auth(OTHER_RETAILER_KEY))

    assert response.status_code == 404, response.text

async def test_a_closed_chat_stays_readable_for_chat_retention_then_is_purged():
    clock = SteppedClock()
    raw = base_config(gateway={"chat_retention": "90s"})
    async with running_gateway(raw, clock=clock) as gateway:
        acked = await chat_of(gateway, "o-retained", 2)
        await gateway.event("o-retained", "delivered")
        clock.offset = 60
        kept = await gateway.http.get("/v1/orders/o-retained/messages", headers=auth(OPERATOR_KEY))
        kept_view = await gateway.http.get("/v1/orders/o-retained", headers=auth(OPERATOR_KEY))

        clock.offset = 91
        purged = await gateway.http.get("/v1/orders/o-retained/messages", headers=auth(OPERATOR_KEY))
        purged_view = await gateway.http.get("/v1/orders/o-retained", headers=auth(OPERATOR_KEY))

    assert kept.json() == {"messages": acked, "last_seq": 2}
    assert kept_view.json()["chat"] == "closed"
    assert purged.status_code == 404, purged.text
    assert purged_view.status_code == 404, purged_view.text
