"""Contract section 4: order events. They repeat and arrive out of order; the status only moves
forward (except `rescheduled`), final statuses stay, and every applied event reaches the
order's sockets as a status frame."""

import pytest

from support.app_server import (
    last_text_number,
    texts_since,
    OPERATOR_KEY,
    RETAILER_KEY,
    auth,
    base_config,
    frame_of,
    join,
    running_gateway,
)

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"


async def view_of(gateway, order_id: str) -> dict:
    response = await gateway.http.get(f"/v1/orders/{order_id}", headers=auth(OPERATOR_KEY))
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_event_that_moves_the_order_is_applied(gateway):
    await gateway.create_order("o-ack")

    response = await gateway.event("o-ack", "acknowledged")

    assert response.status_code == 200, response.text
    assert response.json() == {"applied": True, "status": "acknowledged"}
    assert (await view_of(gateway, "o-ack"))["status"] == "acknowledged"


async def test_the_owning_retailer_may_post_events(gateway):
    await gateway.create_order("o-by-retailer")

    response = await gateway.event("o-by-retailer", "acknowledged", key=RETAILER_KEY)

    assert response.json() == {"applied": True, "status": "acknowledged"}


async def test_posting_an_event_with_an_unknown_key_is_unauthorized(gateway):
    await gateway.create_order("o-ev-badkey")

    response = await gateway.event("o-ev-badkey", "acknowledged", key="not-a-key")

    assert response.status_code == 401, response.text
    assert (await view_of(gateway, "o-ev-badkey"))["status"] == "brand_new"


async def test_picking_assigns_the_shopper_and_opens_chat(gateway):
    await gateway.picking_order("o-pick", shopper_id="shopper-7")

    view = await view_of(gateway, "o-pick")

    assert view["status"] == "picking"
    assert view["chat"] == "open"
    assert view["shopper"] == {"id": "shopper-7", "name": "Alex"}


async def test_a_repeated_event_id_changes_nothing_and_sends_no_second_text(gateway):
    sms = gateway.phone
    start = last_text_number(sms)
    await gateway.create_order("o-repeat", sms_opt_in=True)
    first = await gateway.event("o-repeat", "picking", "ev-1", shopper={"id": "shopper-1", "name": "Alex"})
    assert first.json() == {"applied": True, "status": "picking"}
    (picking_text,) = await texts_since(sms, start, 1)

    again = await gateway.event("o-repeat", "picking", "ev-1", shopper={"id": "shopper-1", "name": "Alex"})
    # a later, applied event proves the text pipeline ran past the repeat
    await gateway.event("o-repeat", "staged", "ev-2")
    texts = await texts_since(sms, picking_text.n, 1)

    assert again.status_code == 200, again.text
    assert again.json() == {"applied": False, "status": "picking"}
    assert len(texts) == 1 and "ready" in texts[0].body, [t.body for t in texts]


async def test_a_repeated_event_id_with_another_name_changes_nothing(gateway):
    await gateway.create_order("o-repeat-name")
    await gateway.event("o-repeat-name", "acknowledged", "ev-1")

    again = await gateway.event("o-repeat-name", "canceled", "ev-1")

    assert again.json() == {"applied": False, "status": "acknowledged"}
    assert (await view_of(gateway, "o-repeat-name"))["status"] == "acknowledged"


async def test_an_event_ranking_below_the_status_is_recorded_but_does_not_move_it_or_text(gateway):
    sms = gateway.phone
    start = last_text_number(sms)
    await gateway.create_order("o-late", sms_opt_in=True)
    await gateway.event("o-late", "staged", shopper={"id": "shopper-1", "name": "Alex"})
    (staged_text,) = await texts_since(sms, start, 1)

    late = await gateway.event("o-late", "picking")
    await gateway.event("o-late", "delivering")
    texts = await texts_since(sms, staged_text.n, 1)

    assert late.status_code == 200, late.text
    assert late.json() == {"applied": False, "status": "staged"}
    assert len(texts) == 1 and "on the way" in texts[0].body, [t.body for t in texts]
    assert (await view_of(gateway, "o-late"))["status"] == "delivering"


async def test_rescheduled_returns_an_open_order_to_acknowledged(gateway):
    await gateway.picking_order("o-resched")

    response = await gateway.event("o-resched", "rescheduled")

    assert response.json() == {"applied": True, "status": "acknowledged"}
    view = await view_of(gateway, "o-resched")
    assert (view["status"], view["chat"]) == ("acknowledged", "not_started")


@pytest.mark.parametrize("final", ["delivered", "canceled"])
async def test_a_final_status_stays_and_its_chat_never_reopens(gateway, final):
    await gateway.picking_order("o-final")
    closed = await gateway.event("o-final", final)
    assert closed.json() == {"applied": True, "status": final}

    later = [
        await gateway.event("o-final", "rescheduled"),
        await gateway.event("o-final", "picking", "o-final-picking-again"),
        await gateway.event("o-final", "delivering"),
        await gateway.event("o-final", "canceled" if final == "delivered" else "delivered"),
    ]

    assert [r.json() for r in later] == [{"applied": False, "status": final}] * 4
    view = await view_of(gateway, "o-final")
    assert (view["status"], view["chat"]) == (final, "closed")


async def test_picking_is_not_an_event_of_last_mile(gateway):
    await gateway.create_order("o-lm-pick", workflow="last_mile")

    response = await gateway.event("o-lm-pick", "picking")

    assert response.status_code == 422, response.text
    assert "event_name" in response.json()["error"]["fields"]
    assert (await view_of(gateway, "o-lm-pick"))["status"] == "brand_new"


async def test_an_unknown_event_name_is_rejected_naming_event_name(gateway):
    await gateway.create_order("o-unknown-ev")

    response = await gateway.event("o-unknown-ev", "teleported")

    assert response.status_code == 422, response.text
    assert "event_name" in response.json()["error"]["fields"]


async def test_an_event_without_an_event_id_is_rejected_naming_event_id(gateway):
    await gateway.create_order("o-no-evid")

    response = await gateway.http.post(
        "/v1/orders/o-no-evid/events", json={"event_name": "acknowledged"}, headers=auth(OPERATOR_KEY)
    )

    assert response.status_code == 422, response.text
    assert "event_id" in response.json()["error"]["fields"]


async def test_an_event_for_an_unknown_order_is_not_found(gateway):
    response = await gateway.event("o-nowhere", "acknowledged")

    assert response.status_code == 404, response.text


async def test_last_mile_chat_is_unavailable_at_every_status(gateway):
    created = await gateway.create_order("o-lm", workflow="last_mile")
    chats = [created.json()["chat"]]
    for event in ("acknowledged", "delivering", "delivered"):
        await gateway.event("o-lm", event)
        chats.append((await view_of(gateway, "o-lm"))["chat"])

    assert chats == ["unavailable"] * 4


async def test_retailer_mode_chat_is_unavailable_at_every_status():
    own = {"own": {"api_key": "rk-own", "communications": "retailer", "callback_url": "http://127.0.0.1:9/cb"}}
    async with running_gateway(base_config(retailers=own)) as gateway:
        created = await gateway.create_order("o-own", key="rk-own")
        assert created.status_code == 201, created.text
        chats = [created.json()["chat"]]
        for event in ("acknowledged", "picking", "staged", "delivered"):
            applied = await gateway.event("o-own", event, shopper={"id": "shopper-1", "name": "Alex"})
            assert applied.json()["applied"] is True
            chats.append((await view_of(gateway, "o-own"))["chat"])

    assert created.json()["retailer"] == "own"
    assert chats == ["unavailable"] * 5


async def test_each_applied_event_reaches_a_joined_socket_as_a_status_frame(gateway):
    view = (await gateway.create_order("o-frames")).json()
    customer = await gateway.connect("customer", view["customer_token"])
    await join(customer, "o-frames")

    await gateway.event("o-frames", "acknowledged")
    acknowledged = await frame_of(customer, "status")
    await gateway.event("o-frames", "picking", shopper={"id": "shopper-1", "name": "Alex"})
    picking = await frame_of(customer, "status")
    await gateway.event("o-frames", "acknowledged", "o-frames-late-ack")  # not applied: no frame
    await gateway.event("o-frames", "delivered")
    delivered = await frame_of(customer, "status")

    assert acknowledged == {
        "type": "status", "order_id": "o-frames", "status": "acknowledged", "chat": "not_started"
    }
    alex = {"name": "Alex"}
    assert picking == {"type": "status", "order_id": "o-frames", "status": "picking", "chat": "open", "shopper": alex}
    assert delivered == {
        "type": "status", "order_id": "o-frames", "status": "delivered", "chat": "closed", "shopper": alex
    }
