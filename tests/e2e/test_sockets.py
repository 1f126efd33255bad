"""Contract section 6: the customer and shopper WebSockets, every frame and every error code."""

import asyncio
import json
import time

import pytest
from websockets.exceptions import InvalidStatus

from gateway.policy.chat import Role
from gateway.tokens import Tokens
from support.app_server import (
    collect,
    OPERATOR_KEY,
    auth,
    base_config,
    frame_of,
    join,
    next_frame,
    running_gateway,
    send_text,
)

pytestmark = pytest.mark.e2e


async def send_frame(ws, **frame) -> None:
    await ws.send(json.dumps(frame))


async def assert_alive(ws) -> None:
    """The socket is still open and answers a ping (frames queued before the pong are skipped)."""
    await send_frame(ws, type="ping")
    assert await frame_of(ws, "pong") == {"type": "pong"}


async def assert_nothing_before_pong(ws) -> None:
    """The socket answers a ping, and no other frame was waiting for it before the pong."""
    await send_frame(ws, type="ping")
    assert await next_frame(ws) == {"type": "pong"}


async def chat_pair(gateway, order_id: str, shopper_id: str = "shopper-1", **body):
    """An open order with its shopper and its customer both joined. Their client-side queues
    are unbounded so a test that leaves frames unread still closes them promptly (a full
    queue stops the client reading, and so from seeing the server's close)."""
    view = await gateway.picking_order(order_id, shopper_id=shopper_id, **body)
    shopper = await gateway.connect("shopper", await gateway.shopper_token(shopper_id), max_queue=None)
    customer = await gateway.connect("customer", view["customer_token"], max_queue=None)
    await join(shopper, order_id)
    await join(customer, order_id)
    return shopper, customer


async def assert_refused(gateway, role: str, token: str, **kwargs) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await gateway.connect(role, token, **kwargs)
    assert refused.value.response.status_code == 403


# --- handshake -----------------------------------------------------------------------------


async def test_a_bad_token_is_refused_with_403(gateway):
    await assert_refused(gateway, "shopper", "not-a-token")
    await assert_refused(gateway, "customer", "not-a-token")


async def test_a_missing_token_is_refused_with_403(gateway):
    await assert_refused(gateway, "shopper", "")


async def test_a_token_signed_with_another_secret_is_refused_with_403(gateway):
    forged = Tokens("someone-elses-secret").mint(Role.SHOPPER, "shopper-1", int(time.time()) + 3600)

    await assert_refused(gateway, "shopper", forged)


async def test_an_expired_shopper_token_is_refused_with_403(gateway):
    expired = gateway.services.tokens.mint(Role.SHOPPER, "shopper-1", int(time.time()) - 1)

    await assert_refused(gateway, "shopper", expired)


async def test_a_customer_token_on_the_shopper_socket_is_refused_with_403(gateway):
    view = (await gateway.create_order("o-kind")).json()

    await assert_refused(gateway, "shopper", view["customer_token"])


async def test_a_shopper_token_on_the_customer_socket_is_refused_with_403(gateway):
    await assert_refused(gateway, "customer", await gateway.shopper_token())


async def test_a_disallowed_origin_is_refused_with_403(gateway):
    view = (await gateway.create_order("o-origin")).json()

    await assert_refused(gateway, "customer", view["customer_token"], origin="https://evil.example")


async def test_the_public_urls_origin_is_allowed(gateway):
    view = (await gateway.create_order("o-origin-ok")).json()

    customer = await gateway.connect("customer", view["customer_token"], origin=gateway.url)

    assert (await join(customer, "o-origin-ok"))["order_id"] == "o-origin-ok"


async def test_a_configured_allowed_origin_is_allowed():
    raw = base_config(gateway={"allowed_origins": ["https://shop.example"]})
    async with running_gateway(raw) as gateway:
        view = (await gateway.create_order("o-origin-conf")).json()
        customer = await gateway.connect("customer", view["customer_token"], origin="https://shop.example")

        assert (await join(customer, "o-origin-conf"))["order_id"] == "o-origin-conf"


async def test_a_socket_without_an_origin_is_allowed(gateway):
    await gateway.picking_order("o-no-origin")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())

    assert "origin" not in {name.lower() for name in shopper.request.headers}
    assert (await join(shopper, "o-no-origin"))["order"]["chat"] == "open"


# --- join ----------------------------------------------------------------------------------


async def test_join_answers_with_the_order_its_history_and_last_seq(gateway):
    shopper, _ = await chat_pair(gateway, "o-join")
    await send_text(shopper, "o-join", "first", "c1")
    await send_text(shopper, "o-join", "second", "c2")
    acked = [frame["message"] for frame in await collect(shopper, {"ack"}, 2)]
    view = await gateway.http.get("/v1/orders/o-join", headers=auth(OPERATOR_KEY))
    late = await gateway.connect("customer", view.json()["customer_token"])

    joined = await join(late, "o-join")

    assert joined["order_id"] == "o-join"
    assert joined["order"] == {
        "status": "picking", "chat": "open", "workflow": "delivery", "shopper": {"name": "Alex"}
    }
    assert joined["history"] == acked
    assert joined["last_seq"] == 2


async def test_a_customer_may_not_join_another_order(gateway):
    mine = (await gateway.create_order("o-mine", customer={"phone": "+15551230001"})).json()
    await gateway.create_order("o-theirs", customer={"phone": "+15551230002"})
    customer = await gateway.connect("customer", mine["customer_token"])

    await send_frame(customer, type="join", order_id="o-theirs")

    error = await next_frame(customer)
    assert error["type"] == "error" and error["code"] == "not_authorized", error
    await assert_alive(customer)


async def test_a_shopper_may_not_join_an_order_assigned_to_another_shopper(gateway):
    await gateway.picking_order("o-assigned", shopper_id="shopper-2")
    shopper = await gateway.connect("shopper", await gateway.shopper_token("shopper-1"))

    await send_frame(shopper, type="join", order_id="o-assigned")

    error = await next_frame(shopper)
    assert error["type"] == "error" and error["code"] == "not_authorized", error


async def test_a_shopper_may_not_join_an_unassigned_order(gateway):
    await gateway.create_order("o-unassigned")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())

    await send_frame(shopper, type="join", order_id="o-unassigned")

    error = await next_frame(shopper)
    assert error["type"] == "error" and error["code"] == "not_authorized", error


async def test_joining_an_unknown_order_is_not_authorized(gateway):
    shopper = await gateway.connect("shopper", await gateway.shopper_token())

    await send_frame(shopper, type="join", order_id="o-ghost")

    error = await next_frame(shopper)
    assert error["type"] == "error" and error["code"] == "not_authorized", error


# --- send errors -----------------------------------------------------------------------------


async def test_sending_before_joining_is_not_joined_and_carries_the_client_id(gateway):
    await gateway.picking_order("o-unjoined")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())

    await send_text(shopper, "o-unjoined", "hello?", "c-early")

    error = await next_frame(shopper)
    assert error["type"] == "error", error
    assert (error["code"], error["client_id"]) == ("not_joined", "c-early")
    assert error["message"]
    await assert_alive(shopper)


async def test_sending_before_picking_is_chat_not_open(gateway):
    view = (await gateway.create_order("o-early")).json()
    customer = await gateway.connect("customer", view["customer_token"])
    joined = await join(customer, "o-early")
    assert joined["order"]["chat"] == "not_started"

    await send_text(customer, "o-early", "anyone there?", "k1")

    error = await next_frame(customer)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "chat_not_open", "k1")
    await assert_alive(customer)


async def test_sending_after_delivery_is_chat_closed(gateway):
    shopper, customer = await chat_pair(gateway, "o-closed")
    await gateway.event("o-closed", "delivered")
    await frame_of(customer, "status")

    await send_text(customer, "o-closed", "thanks!", "k1")

    error = await next_frame(customer)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "chat_closed", "k1")
    await assert_alive(customer)


async def test_sending_on_a_last_mile_order_is_chat_unavailable(gateway):
    view = (await gateway.create_order("o-lm", workflow="last_mile")).json()
    customer = await gateway.connect("customer", view["customer_token"])
    await join(customer, "o-lm")

    await send_text(customer, "o-lm", "where are you?", "k1")

    error = await next_frame(customer)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "chat_unavailable", "k1")


async def test_a_text_of_1001_characters_is_too_long_and_1000_is_fine(gateway):
    shopper, _ = await chat_pair(gateway, "o-long")

    await send_text(shopper, "o-long", "x" * 1001, "c-long")
    error = await next_frame(shopper)
    await send_text(shopper, "o-long", "x" * 1000, "c-max")
    (ack,) = await collect(shopper, {"ack", "error"}, 1)

    assert (error["type"], error["code"], error["client_id"]) == ("error", "too_long", "c-long")
    assert ack["type"] == "ack" and ack["message"]["seq"] == 1, ack


@pytest.mark.parametrize("text", ["", "   "])
async def test_an_empty_text_is_a_bad_frame(gateway, text):
    shopper, _ = await chat_pair(gateway, "o-empty")

    await send_text(shopper, "o-empty", text, "c-empty")

    error = await next_frame(shopper)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "bad_frame", "c-empty")
    await assert_alive(shopper)


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        json.dumps({"type": "dance", "order_id": "o-1"}),
        json.dumps({"type": "send", "order_id": "o-1"}),
        json.dumps(["ping"]),
        b"\x00\x01binary",
    ],
    ids=["invalid-json", "unknown-type", "missing-field", "not-an-object", "binary"],
)
async def test_a_malformed_frame_is_a_bad_frame_and_the_socket_stays_open(gateway, raw):
    shopper = await gateway.connect("shopper", await gateway.shopper_token())

    await shopper.send(raw)

    error = await next_frame(shopper)
    assert (error["type"], error["code"]) == ("error", "bad_frame"), error
    assert error["message"]
    await assert_alive(shopper)


# The rate-limit tests stop the limiter's clock, so a slow machine cannot refill the bucket
# between sends: the burst is exactly `chat_per_second`.


async def test_sending_faster_than_the_limit_is_rate_limited():
    async with running_gateway(base_config(limits={"chat_per_second": 2}), monotonic=lambda: 0.0) as gateway:
        shopper, _ = await chat_pair(gateway, "o-rate")

        for n in (1, 2, 3):
            await send_text(shopper, "o-rate", f"quick {n}", f"c{n}")
        replies = await collect(shopper, {"ack", "error"}, 3)

        assert [r["type"] for r in replies] == ["ack", "ack", "error"], replies
        assert (replies[2]["code"], replies[2]["client_id"]) == ("rate_limited", "c3")
        await assert_alive(shopper)


# --- delivery guarantees -----------------------------------------------------------------------


async def test_a_retried_client_id_returns_the_same_message_and_is_not_delivered_twice(gateway):
    shopper, customer = await chat_pair(gateway, "o-retry")

    await send_text(shopper, "o-retry", "Need more bags?", "c1")
    await send_text(shopper, "o-retry", "Need more bags?", "c1")
    first, again = await collect(shopper, {"ack"}, 2)
    await send_text(shopper, "o-retry", "Bags added", "c2")
    delivered = await collect(customer, {"message"}, 2)

    assert first == again
    assert first["client_id"] == "c1" and first["message"]["seq"] == 1
    assert [(m["message"]["seq"], m["message"]["text"]) for m in delivered] == [
        (1, "Need more bags?"),
        (2, "Bags added"),
    ]


async def test_seq_counts_from_one_without_gaps_when_both_sides_send_at_once(gateway):
    shopper, customer = await chat_pair(gateway, "o-busy")
    each = 15

    await asyncio.gather(
        *(send_text(shopper, "o-busy", f"shopper {n}", f"s{n}") for n in range(each)),
        *(send_text(customer, "o-busy", f"customer {n}", f"k{n}") for n in range(each)),
    )
    at_shopper, at_customer = await asyncio.gather(
        collect(shopper, {"message"}, 2 * each), collect(customer, {"message"}, 2 * each)
    )

    expected = list(range(1, 2 * each + 1))
    assert [f["message"]["seq"] for f in at_shopper] == expected
    assert [f["message"]["seq"] for f in at_customer] == expected
    assert [f["message"] for f in at_shopper] == [f["message"] for f in at_customer]
    stored = await gateway.http.get("/v1/orders/o-busy/messages", headers=auth(OPERATOR_KEY))
    assert [m["seq"] for m in stored.json()["messages"]] == expected


async def test_rejoining_after_n_replays_exactly_the_messages_after_n_in_order(gateway):
    shopper, customer = await chat_pair(gateway, "o-resume")
    for n in range(1, 6):
        await send_text(shopper, "o-resume", f"note {n}", f"c{n}")
    await collect(customer, {"message"}, 5)
    await customer.close()
    token = (await gateway.http.get("/v1/orders/o-resume", headers=auth(OPERATOR_KEY))).json()[
        "customer_token"
    ]
    back = await gateway.connect("customer", token)

    joined = await join(back, "o-resume", after=3)
    await send_text(shopper, "o-resume", "note 6", "c6")
    await send_text(shopper, "o-resume", "note 7", "c7")
    live = await collect(back, {"message"}, 2)

    assert [(m["seq"], m["text"]) for m in joined["history"]] == [(4, "note 4"), (5, "note 5")]
    assert joined["last_seq"] == 5
    assert [(f["message"]["seq"], f["message"]["text"]) for f in live] == [(6, "note 6"), (7, "note 7")]


async def test_typing_reaches_the_other_side_and_is_not_echoed(gateway):
    shopper, customer = await chat_pair(gateway, "o-typing")

    await send_frame(shopper, type="typing", order_id="o-typing")

    assert await frame_of(customer, "typing") == {"type": "typing", "order_id": "o-typing", "from": "shopper"}
    await assert_nothing_before_pong(shopper)  # the echo, had there been one, would have queued before the pong


async def test_read_reaches_the_other_side_and_is_not_echoed(gateway):
    shopper, customer = await chat_pair(gateway, "o-read")
    await send_text(shopper, "o-read", "Ripe or green?", "c1")
    await frame_of(customer, "message")
    await collect(shopper, {"ack", "message"}, 2)

    await send_frame(customer, type="read", order_id="o-read", seq=1)

    assert await frame_of(shopper, "read") == {"type": "read", "order_id": "o-read", "by": "customer", "seq": 1}
    await assert_nothing_before_pong(customer)


async def test_typing_on_an_order_not_joined_is_not_joined(gateway):
    shopper = await gateway.connect("shopper", await gateway.shopper_token())

    await send_frame(shopper, type="typing", order_id="o-elsewhere")

    error = await next_frame(shopper)
    assert (error["type"], error["code"]) == ("error", "not_joined"), error


async def test_leaving_stops_delivery_to_that_socket(gateway):
    shopper, customer = await chat_pair(gateway, "o-leave")

    await send_frame(customer, type="leave", order_id="o-leave")
    await assert_nothing_before_pong(customer)  # the leave is done
    await send_text(shopper, "o-leave", "Still there?", "c1")
    await collect(shopper, {"ack", "message"}, 2)

    await assert_nothing_before_pong(customer)  # the message would have queued before this pong
    await send_text(customer, "o-leave", "I left", "k1")
    error = await next_frame(customer)
    assert (error["type"], error["code"]) == ("error", "not_joined"), error


async def test_one_shopper_socket_serves_two_orders_tagged_by_order_id(gateway):
    first = await gateway.picking_order("o-batch-1", customer={"phone": "+15551230001"})
    second = await gateway.picking_order("o-batch-2", customer={"phone": "+15551230002"})
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-batch-1")
    await join(shopper, "o-batch-2")
    customer_1 = await gateway.connect("customer", first["customer_token"])
    customer_2 = await gateway.connect("customer", second["customer_token"])
    await join(customer_1, "o-batch-1")
    await join(customer_2, "o-batch-2")

    await send_text(customer_1, "o-batch-1", "No peanuts please", "k1")
    await send_text(customer_2, "o-batch-2", "Extra ice", "k1")
    got = await collect(shopper, {"message"}, 2)
    await frame_of(customer_1, "message")  # its own message comes back to it
    await send_text(shopper, "o-batch-2", "Will do", "c1")
    own, reply = await collect(customer_2, {"message"}, 2)

    by_order = {f["order_id"]: (f["message"]["seq"], f["message"]["text"], f["message"]["from"]) for f in got}
    assert by_order == {
        "o-batch-1": (1, "No peanuts please", "customer"),
        "o-batch-2": (1, "Extra ice", "customer"),
    }
    assert (reply["order_id"], reply["message"]["seq"], reply["message"]["text"]) == ("o-batch-2", 2, "Will do")
    assert own["message"]["text"] == "Extra ice"
    await assert_nothing_before_pong(customer_1)  # the other order's reply did not reach it


async def test_the_same_client_id_from_each_side_makes_two_messages(gateway):
    shopper, customer = await chat_pair(gateway, "o-ids")

    await send_text(shopper, "o-ids", "From the shopper", "same-id")
    (shopper_ack,) = await collect(shopper, {"ack"}, 1)
    await send_text(customer, "o-ids", "From the customer", "same-id")
    (customer_ack,) = await collect(customer, {"ack"}, 1)

    assert [shopper_ack["message"]["seq"], customer_ack["message"]["seq"]] == [1, 2]
    assert customer_ack["message"]["text"] == "From the customer"


async def test_the_rate_limit_counts_each_order_separately():
    async with running_gateway(base_config(limits={"chat_per_second": 2}), monotonic=lambda: 0.0) as gateway:
        await gateway.picking_order("o-rate-a", customer={"phone": "+15551230001"})
        await gateway.picking_order("o-rate-b", customer={"phone": "+15551230002"})
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        await join(shopper, "o-rate-a")
        await join(shopper, "o-rate-b")

        for n in (1, 2, 3):
            await send_text(shopper, "o-rate-a", f"to a {n}", f"a{n}")
        await send_text(shopper, "o-rate-b", "to b", "b1")
        replies = await collect(shopper, {"ack", "error"}, 4)

    outcomes = [(r["type"], r.get("code"), r["client_id"]) for r in replies]
    assert outcomes == [
        ("ack", None, "a1"),
        ("ack", None, "a2"),
        ("error", "rate_limited", "a3"),
        ("ack", None, "b1"),
    ]


async def test_a_rate_limit_of_zero_means_no_limit():
    async with running_gateway(base_config(limits={"chat_per_second": 0})) as gateway:
        shopper, _ = await chat_pair(gateway, "o-unlimited")

        for n in range(40):
            await send_text(shopper, "o-unlimited", f"burst {n}", f"c{n}")
        replies = await collect(shopper, {"ack", "error"}, 40)

    assert {r["type"] for r in replies} == {"ack"}
    assert sorted(r["message"]["seq"] for r in replies) == list(range(1, 41))


async def test_a_customer_can_join_a_closed_chat_and_read_its_history(gateway):
    shopper, customer = await chat_pair(gateway, "o-history")
    await send_text(shopper, "o-history", "Left it at the door", "c1")
    (ack,) = await collect(shopper, {"ack"}, 1)
    await gateway.event("o-history", "delivered")
    await customer.close()
    token = (await gateway.http.get("/v1/orders/o-history", headers=auth(OPERATOR_KEY))).json()["customer_token"]
    again = await gateway.connect("customer", token)

    joined = await join(again, "o-history")

    assert joined["order"] == {
        "status": "delivered", "chat": "closed", "workflow": "delivery", "shopper": {"name": "Alex"}
    }
    assert joined["history"] == [ack["message"]]


async def test_a_shopper_whose_order_is_reassigned_can_no_longer_send_in_it(gateway):
    await gateway.picking_order("o-reassigned", shopper_id="shopper-1")
    first = await gateway.connect("shopper", await gateway.shopper_token("shopper-1"))
    await join(first, "o-reassigned")
    reassigned = await gateway.event(
        "o-reassigned", "checkout", "o-reassigned-checkout", shopper={"id": "shopper-2", "name": "Bo"}
    )
    assert reassigned.json()["applied"] is True

    await send_text(first, "o-reassigned", "Still me?", "late")
    refused = await frame_of(first, "error")
    assert (refused["code"], refused["client_id"]) == ("not_authorized", "late")
    second = await gateway.connect("shopper", await gateway.shopper_token("shopper-2"))
    await join(second, "o-reassigned")
    await send_text(second, "o-reassigned", "Hi, Bo here, taking over.", "bo1")
    assert (await frame_of(second, "ack"))["message"]["seq"] == 1
