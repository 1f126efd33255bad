"""Contract section 5 through the console provider: status texts, chat over SMS, receipts, and
inbound texts (keywords, polite replies, dedupe) on the same code path the Twilio webhook uses."""

import pytest

import json

from support.app_server import (
    collect,
    last_text_number,
    texts_since,
    OPERATOR_KEY,
    RETAILER_KEY,
    auth,
    base_config,
    frame_of,
    join,
    next_frame,
    running_gateway,
    send_text,
)

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"
OTHER_PHONE = "+15551230002"
SHOPPER = {"id": "shopper-1", "name": "Alex"}


async def text_in(gateway, order_id: str, body: str, sid: str, *, phone: str | None = None) -> list[str]:
    """A text from the order's customer (or `phone`) to the order's number; returns the replies."""
    order = await gateway.services.store.get_order(order_id)
    return await gateway.text_in(phone or order.customer_phone, order.sender, body, sid)


async def transcript(gateway, order_id: str) -> dict:
    response = await gateway.http.get(f"/v1/orders/{order_id}/messages", headers=auth(OPERATOR_KEY))
    assert response.status_code == 200, response.text
    return response.json()


async def sentinel_text(gateway, start: int, order_id: str = "o-sentinel") -> list:
    """An opted-in order on another phone starts picking; returns the outbox after `start` once
    its text is there and every text job has settled, so any text queued earlier by the test
    (in whatever order the worker ran them) is there too."""
    await gateway.picking_order(order_id, sms_opt_in=True, customer={"phone": "+15559990000"})
    await texts_since(gateway.phone, start, 1)
    await gateway.jobs.drained("text")
    return gateway.phone.since(start)


# --- status notifications -------------------------------------------------------------------------


async def test_picking_texts_an_opted_in_customer_with_the_status_page_link(gateway):
    sms = gateway.phone
    start = last_text_number(sms)

    view = await gateway.picking_order("o-notify", sms_opt_in=True, customer={"phone": PHONE})

    (text,) = await texts_since(sms, start, 1)
    assert text.to == PHONE
    assert text.sender in gateway.settings.sms.numbers
    assert view["status_page_url"] in text.body
    assert "Alex" in text.body and "Demo Grocer" in text.body


async def test_an_opted_out_customer_gets_no_status_text(gateway):
    start = last_text_number(gateway.phone)

    await gateway.picking_order("o-quiet", customer={"phone": PHONE})
    texts = await sentinel_text(gateway, start)

    assert [t.to for t in texts] == ["+15559990000"]


async def test_a_retailer_mode_order_gets_no_status_text():
    own = {"own": {"api_key": "rk-own", "communications": "retailer", "callback_url": "http://127.0.0.1:9/cb"}}
    async with running_gateway(base_config(retailers=own)) as gateway:
        start = last_text_number(gateway.phone)
        created = await gateway.create_order("o-own", key="rk-own", sms_opt_in=True, customer={"phone": PHONE})
        assert created.json()["sms"]["opt_in"] is True
        await gateway.event("o-own", "picking", shopper=SHOPPER)

        texts = await sentinel_text(gateway, start)

    assert [t.to for t in texts] == ["+15559990000"]


async def test_a_retailer_template_wins_and_an_empty_one_turns_the_text_off():
    templates = {
        "acknowledged": "{retailer} got order {order_id}",
        "picking": "{shopper} is on order {order_id}; text {sender_number}",
        "staged": "",
    }
    demo = {"demo": {"name": "Demo Grocer", "api_key": RETAILER_KEY, "templates": templates}}
    async with running_gateway(base_config(retailers=demo)) as gateway:
        sms = gateway.phone
        start = last_text_number(sms)
        await gateway.create_order("o-tpl", sms_opt_in=True, customer={"phone": PHONE})

        for event in ("acknowledged", "picking", "staged", "delivering"):
            await gateway.event("o-tpl", event, shopper=SHOPPER)
        texts = await texts_since(sms, start, 3)

    sender = texts[0].sender
    assert [t.body for t in texts] == [
        "Demo Grocer got order o-tpl",
        f"Alex is on order o-tpl; text {sender}",
        texts[2].body,
    ]
    assert texts[2].body.startswith("Alex is on the way with your Demo Grocer order")  # built-in delivering


# --- chat over SMS -------------------------------------------------------------------------------------


async def test_a_shopper_message_reaches_an_opted_in_customer_as_a_text_with_receipts(gateway):
    sms = gateway.phone
    await gateway.picking_order("o-relay", sms_opt_in=True, customer={"phone": PHONE})
    (picking_text,) = await texts_since(sms, 0, 1)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-relay")

    await send_text(shopper, "o-relay", "They're out of oat milk. Almond ok?", "c1")
    receipts = await collect(shopper, {"receipt"}, 2)
    (text,) = await texts_since(sms, picking_text.n, 1)

    assert [(r["order_id"], r["seq"], r["sms"]) for r in receipts] == [
        ("o-relay", 1, "queued"),
        ("o-relay", 1, "delivered"),
    ]
    assert (text.to, text.sender, text.body) == (PHONE, picking_text.sender, "They're out of oat milk. Almond ok?")


async def test_a_shopper_message_to_a_customer_not_opted_in_is_not_sent(gateway):
    start = last_text_number(gateway.phone)
    await gateway.picking_order("o-no-relay", customer={"phone": PHONE})
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-no-relay")

    await send_text(shopper, "o-no-relay", "Almond ok?", "c1")
    receipt = await frame_of(shopper, "receipt")
    texts = await sentinel_text(gateway, start)

    assert (receipt["seq"], receipt["sms"]) == (1, "not_sent")
    assert [t.to for t in texts] == ["+15559990000"]


async def test_receipts_go_to_the_shopper_only(gateway):
    view = await gateway.picking_order("o-receipt-side", sms_opt_in=True, customer={"phone": PHONE})
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    customer = await gateway.connect("customer", view["customer_token"])
    await join(shopper, "o-receipt-side")
    await join(customer, "o-receipt-side")

    await send_text(shopper, "o-receipt-side", "Almond ok?", "c1")
    (held,) = await collect(shopper, {"receipt"}, 1)  # held: the customer is on the page (section 9)
    assert held["sms"] == "held"
    await frame_of(customer, "message")

    # the receipt reached the order's sockets before this ping, so one queued for the
    # customer would come before the pong
    await customer.send(json.dumps({"type": "ping"}))
    assert await next_frame(customer) == {"type": "pong"}


async def test_a_customers_text_joins_the_open_chat(gateway):
    view = await gateway.picking_order("o-inbound", sms_opt_in=True, customer={"phone": PHONE})
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    customer = await gateway.connect("customer", view["customer_token"])
    await join(shopper, "o-inbound")
    await join(customer, "o-inbound")

    replies = await text_in(gateway, "o-inbound", "Almond is fine", "SM-in-1")
    at_shopper = await frame_of(shopper, "message")
    at_page = await frame_of(customer, "message")

    assert replies == []
    message = at_shopper["message"]
    assert (message["seq"], message["from"], message["via"]) == (1, "customer", "sms")
    assert message["text"] == "Almond is fine"
    assert at_page["message"] == message


async def test_a_text_before_picking_gets_one_polite_reply_and_is_kept(gateway):
    await gateway.create_order("o-early", customer={"phone": PHONE})

    first = await text_in(gateway, "o-early", "Can you add eggs?", "SM-early-1")
    second = await text_in(gateway, "o-early", "Hello?", "SM-early-2")

    assert len(first) == 1 and first[0], first
    assert second == []
    kept = await transcript(gateway, "o-early")
    assert [(m["from"], m["via"], m["text"]) for m in kept["messages"]] == [
        ("customer", "sms", "Can you add eggs?"),
        ("customer", "sms", "Hello?"),
    ]


async def test_a_text_after_delivery_gets_its_own_polite_reply(gateway):
    await gateway.create_order("o-after", customer={"phone": PHONE})
    before = await text_in(gateway, "o-after", "Eggs?", "SM-after-1")
    await gateway.event("o-after", "picking", shopper=SHOPPER)
    await gateway.event("o-after", "delivered")

    after = await text_in(gateway, "o-after", "Thanks!", "SM-after-2")
    again = await text_in(gateway, "o-after", "Bye", "SM-after-3")

    assert len(before) == 1 and len(after) == 1 and after != before, (before, after)
    assert again == []
    assert [m["text"] for m in (await transcript(gateway, "o-after"))["messages"]] == ["Eggs?", "Thanks!", "Bye"]


async def test_a_text_from_an_unknown_phone_gets_no_reply(gateway):
    await gateway.create_order("o-known", customer={"phone": PHONE})

    replies = await text_in(gateway, "o-known", "Who is this?", "SM-stranger", phone="+15557770000")
    help_replies = await text_in(gateway, "o-known", "HELP", "SM-stranger-help", phone="+15557770000")

    assert replies == [] and help_replies == []
    assert (await transcript(gateway, "o-known")) == {"messages": [], "last_seq": 0}


@pytest.mark.parametrize("word", ["HELP", " info "])
async def test_help_gets_the_help_text(gateway, word):
    await gateway.picking_order("o-help", customer={"phone": PHONE})

    replies = await text_in(gateway, "o-help", word, "SM-help")

    assert len(replies) == 1, replies
    assert "Demo Grocer" in replies[0] and "STOP" in replies[0]


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "REVOKE", "optout"])
async def test_stop_opts_the_customer_out_and_no_status_text_follows(gateway, word):
    sms = gateway.phone
    await gateway.picking_order("o-stop", sms_opt_in=True, customer={"phone": PHONE})
    (picking_text,) = await texts_since(sms, 0, 1)

    replies = await text_in(gateway, "o-stop", word, "SM-stop")
    await gateway.event("o-stop", "staged")
    texts = await sentinel_text(gateway, picking_text.n)

    assert replies == []  # Twilio confirms a STOP; the gateway says nothing
    assert [t.to for t in texts] == ["+15559990000"]
    view = await gateway.http.get("/v1/orders/o-stop", headers=auth(OPERATOR_KEY))
    assert view.json()["sms"] == {"opt_in": False, "source": "keyword"}


async def test_stop_on_one_number_blocks_texts_from_every_number(gateway):
    sms = gateway.phone
    await gateway.picking_order("o-one", sms_opt_in=True, customer={"phone": PHONE})
    await gateway.picking_order("o-two", sms_opt_in=True, customer={"phone": PHONE})
    first, second = await texts_since(sms, 0, 2)
    assert first.sender != second.sender

    await text_in(gateway, "o-one", "STOP", "SM-stop-all")
    await gateway.event("o-two", "staged")
    texts = await sentinel_text(gateway, second.n)

    assert [t.to for t in texts] == ["+15559990000"]
    view = await gateway.http.get("/v1/orders/o-two", headers=auth(OPERATOR_KEY))
    assert view.json()["sms"] == {"opt_in": False, "source": "keyword"}


async def test_start_after_stop_resumes_status_texts(gateway):
    sms = gateway.phone
    await gateway.picking_order("o-restart", sms_opt_in=True, customer={"phone": PHONE})
    (picking_text,) = await texts_since(sms, 0, 1)
    await text_in(gateway, "o-restart", "STOP", "SM-restart-1")

    replies = await text_in(gateway, "o-restart", "start", "SM-restart-2")
    await gateway.event("o-restart", "staged")
    (text,) = await texts_since(sms, picking_text.n, 1)

    assert replies == []
    assert text.to == PHONE and "ready" in text.body


async def test_a_repeated_message_sid_changes_nothing(gateway):
    await gateway.picking_order("o-dupe", customer={"phone": PHONE})

    first = await text_in(gateway, "o-dupe", "On my way home", "SM-dupe")
    again = await text_in(gateway, "o-dupe", "On my way home", "SM-dupe")

    assert first == again == []
    kept = await transcript(gateway, "o-dupe")
    assert [m["text"] for m in kept["messages"]] == ["On my way home"]
    assert kept["last_seq"] == 1


async def test_a_repeated_stop_message_sid_does_not_undo_a_start(gateway):
    await gateway.create_order("o-dupe-stop", sms_opt_in=True, customer={"phone": PHONE})
    await text_in(gateway, "o-dupe-stop", "STOP", "SM-stop-once")
    await text_in(gateway, "o-dupe-stop", "START", "SM-start-once")

    await text_in(gateway, "o-dupe-stop", "STOP", "SM-stop-once")

    view = await gateway.http.get("/v1/orders/o-dupe-stop", headers=auth(OPERATOR_KEY))
    assert view.json()["sms"] == {"opt_in": True, "source": "keyword"}


async def test_a_last_mile_customer_is_texted_by_default(gateway):
    sms = gateway.phone
    start = last_text_number(sms)
    await gateway.create_order("o-lm", workflow="last_mile", customer={"phone": PHONE})

    await gateway.event("o-lm", "delivering", shopper=SHOPPER)

    (text,) = await texts_since(sms, start, 1)
    assert text.to == PHONE and "on the way" in text.body


async def test_a_customers_own_chat_message_is_not_texted_back_to_them(gateway):
    start = last_text_number(gateway.phone)
    view = await gateway.picking_order("o-echo", sms_opt_in=True, customer={"phone": PHONE})
    (picking_text,) = await texts_since(gateway.phone, start, 1)
    customer = await gateway.connect("customer", view["customer_token"])
    await join(customer, "o-echo")

    await send_text(customer, "o-echo", "Typed on the page", "k1")
    await frame_of(customer, "ack")
    texts = await sentinel_text(gateway, picking_text.n)

    assert [t.to for t in texts] == ["+15559990000"]


async def test_a_text_goes_to_the_order_that_owns_the_number_it_was_sent_to(gateway):
    sms = gateway.phone
    await gateway.picking_order("o-route-1", sms_opt_in=True, customer={"phone": PHONE})
    await gateway.picking_order("o-route-2", sms_opt_in=True, customer={"phone": PHONE})
    first, second = await texts_since(sms, 0, 2)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-route-1")
    await join(shopper, "o-route-2")

    await gateway.text_in(PHONE, second.sender, "For the second order", "SM-route-2")
    await gateway.text_in(PHONE, first.sender, "For the first order", "SM-route-1")
    got = await collect(shopper, {"message"}, 2)

    assert [(f["order_id"], f["message"]["text"]) for f in got] == [
        ("o-route-2", "For the second order"),
        ("o-route-1", "For the first order"),
    ]


async def test_when_the_pool_runs_out_a_text_goes_to_the_most_recently_active_order_on_that_number(gateway):
    sms = gateway.phone
    for n in (1, 2, 3):  # two pool numbers, three open orders: two orders share a number
        await gateway.picking_order(f"o-busy-{n}", sms_opt_in=True, customer={"phone": PHONE})
    texts = await texts_since(sms, 0, 3)
    by_order = {f"o-busy-{n}": text.sender for n, text in zip((1, 2, 3), texts, strict=True)}
    shared = by_order["o-busy-3"]
    older = next(order for order in ("o-busy-1", "o-busy-2") if by_order[order] == shared)
    shopper = await gateway.connect("shopper", await gateway.shopper_token(), max_queue=None)
    await join(shopper, "o-busy-3")
    await join(shopper, older)

    await gateway.text_in(PHONE, shared, "First", "SM-b1")
    first = await frame_of(shopper, "message")
    await send_text(shopper, older, "A question about the older order", "c1")
    own = await frame_of(shopper, "message")
    # delivered: the text to the phone went out, which makes the older order the most recent
    assert [r["sms"] for r in await collect(shopper, {"receipt"}, 2)] == ["queued", "delivered"]
    await gateway.text_in(PHONE, shared, "Second", "SM-b2")
    second = await frame_of(shopper, "message")

    assert (first["order_id"], first["message"]["text"]) == ("o-busy-3", "First")
    assert (own["order_id"], own["message"]["from"]) == (older, "shopper")
    assert (second["order_id"], second["message"]["text"]) == (older, "Second")


async def test_an_event_without_a_template_sends_no_text(gateway):
    sms = gateway.phone
    await gateway.picking_order("o-checkout", sms_opt_in=True, customer={"phone": PHONE})
    (picking_text,) = await texts_since(sms, 0, 1)

    await gateway.event("o-checkout", "checkout")
    await gateway.event("o-checkout", "staged")
    texts = await texts_since(sms, picking_text.n, 1)

    assert len(texts) == 1 and "ready" in texts[0].body, [t.body for t in texts]


async def test_a_shopper_message_after_stop_is_not_sent(gateway):
    sms = gateway.phone
    await gateway.picking_order("o-stopped-chat", sms_opt_in=True, customer={"phone": PHONE})
    (picking_text,) = await texts_since(sms, 0, 1)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-stopped-chat")
    await text_in(gateway, "o-stopped-chat", "STOP", "SM-stop-chat")

    await send_text(shopper, "o-stopped-chat", "Still want the almond milk?", "c1")
    receipt = await frame_of(shopper, "receipt")
    texts = await sentinel_text(gateway, picking_text.n)

    assert (receipt["seq"], receipt["sms"]) == (1, "not_sent")
    assert [t.to for t in texts] == ["+15559990000"]
