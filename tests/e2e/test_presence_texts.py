"""Contract section 9: a shopper message to a customer who is reading the Order Status page
is held; read there, it is never texted; otherwise it is texted when the window ends or the
customer looks away, consent checked at that moment. Status texts are never held."""

from __future__ import annotations

import asyncio
import json

import pytest

from support.app_server import (
    OPERATOR_KEY,
    auth,
    base_config,
    collect,
    frame_of,
    join,
    running_gateway,
    send_text,
    texts_since,
)

pytestmark = pytest.mark.e2e

WINDOW = "1s"  # short, so "the window ends" happens within a test
LONG_WINDOW = "60s"  # long, so only presence or a read can end the hold


def config(chat_fallback: str, **gateway) -> dict:
    return base_config(sms={"chat_fallback": chat_fallback}, gateway=gateway)


async def conversation(gateway, order_id: str):
    """An opted-in order, its shopper and its customer's page both joined (so present)."""
    view = await gateway.picking_order(order_id, sms_opt_in=True)
    shopper = await gateway.connect("shopper", await gateway.shopper_token(), max_queue=None)
    customer = await gateway.connect("customer", view["customer_token"], max_queue=None)
    await join(shopper, order_id)
    await join(customer, order_id)
    return shopper, customer


# A message's receipts may reach its shopper before its ack (on Redis they are published with
# the message); receipts read while waiting for an ack are kept here, per socket.
_early: dict[int, list[dict]] = {}


async def shopper_says(shopper, order_id: str, text: str, client_id: str) -> int:
    await send_text(shopper, order_id, text, client_id)

    async def until_ack() -> dict:
        while True:
            frame = json.loads(await shopper.recv())
            if frame["type"] == "receipt":
                _early.setdefault(id(shopper), []).append(frame)
            elif frame["type"] == "ack":
                return frame

    return (await asyncio.wait_for(until_ack(), 5))["message"]["seq"]


async def receipt_frames(shopper, count: int, timeout: float = 5.0) -> list[dict]:
    kept = _early.setdefault(id(shopper), [])
    taken, kept[:] = kept[:count], kept[count:]
    return taken + (await collect(shopper, {"receipt"}, count - len(taken), timeout) if count > len(taken) else [])


async def receipts(shopper, count: int, timeout: float = 5.0) -> list[tuple[int, str]]:
    return [(r["seq"], r["sms"]) for r in await receipt_frames(shopper, count, timeout)]


def chat_texts(gateway, body: str) -> list:
    return [text for text in gateway.phone.outbox if text.body == body]


async def test_a_message_to_a_customer_on_the_page_is_held_then_texted_when_the_window_ends():
    async with running_gateway(config(WINDOW)) as gateway:
        shopper, _ = await conversation(gateway, "p-window")
        seq = await shopper_says(shopper, "p-window", "Found the oat milk", "s1")
        assert await receipts(shopper, 1) == [(seq, "held")]
        assert chat_texts(gateway, "Found the oat milk") == []

        assert await receipts(shopper, 2) == [(seq, "queued"), (seq, "delivered")]
        assert len(chat_texts(gateway, "Found the oat milk")) == 1


async def test_read_on_the_page_before_the_window_ends_is_never_texted():
    async with running_gateway(config(LONG_WINDOW)) as gateway:
        shopper, customer = await conversation(gateway, "p-read")
        seq = await shopper_says(shopper, "p-read", "Bananas are green, ok?", "s1")
        assert await receipts(shopper, 1) == [(seq, "held")]
        await customer.send(json.dumps({"type": "read", "order_id": "p-read", "seq": seq}))

        assert await receipts(shopper, 1) == [(seq, "read_on_page")]
        await gateway.jobs.drained("text")
        assert chat_texts(gateway, "Bananas are green, ok?") == []


async def test_a_read_after_the_window_changes_nothing():
    async with running_gateway(config(WINDOW)) as gateway:
        shopper, customer = await conversation(gateway, "p-late-read")
        seq = await shopper_says(shopper, "p-late-read", "Out of eggs", "s1")
        assert await receipts(shopper, 3) == [(seq, "held"), (seq, "queued"), (seq, "delivered")]
        await customer.send(json.dumps({"type": "read", "order_id": "p-late-read", "seq": seq}))
        await frame_of(shopper, "read")  # the read reached the shopper: no receipt came before it

        assert len(chat_texts(gateway, "Out of eggs")) == 1


async def test_a_customer_who_looks_away_is_texted_at_once():
    async with running_gateway(config(LONG_WINDOW)) as gateway:
        shopper, customer = await conversation(gateway, "p-away")
        seq = await shopper_says(shopper, "p-away", "Which bread?", "s1")
        assert await receipts(shopper, 1) == [(seq, "held")]
        await customer.send(json.dumps({"type": "presence", "order_id": "p-away", "visible": False}))

        # Within a few seconds, not the 60 s window.
        assert await receipts(shopper, 2, timeout=5) == [(seq, "queued"), (seq, "delivered")]
        assert len(chat_texts(gateway, "Which bread?")) == 1


async def test_a_customer_who_closes_the_page_is_texted_at_once():
    async with running_gateway(config(LONG_WINDOW)) as gateway:
        shopper, customer = await conversation(gateway, "p-closed")
        seq = await shopper_says(shopper, "p-closed", "Paper or plastic?", "s1")
        assert await receipts(shopper, 1) == [(seq, "held")]
        await customer.close()

        assert await receipts(shopper, 2, timeout=5) == [(seq, "queued"), (seq, "delivered")]


async def test_a_page_in_the_background_does_not_hold_texts():
    async with running_gateway(config(LONG_WINDOW)) as gateway:
        shopper, customer = await conversation(gateway, "p-hidden")
        await customer.send(json.dumps({"type": "presence", "order_id": "p-hidden", "visible": False}))
        await customer.send(json.dumps({"type": "ping"}))
        await frame_of(customer, "pong")  # the presence frame was handled before this

        seq = await shopper_says(shopper, "p-hidden", "Heading out", "s1")
        assert await receipts(shopper, 2) == [(seq, "queued"), (seq, "delivered")]


async def test_consent_withdrawn_during_the_hold_means_no_text():
    async with running_gateway(config(WINDOW)) as gateway:
        view = await gateway.picking_order("p-consent", sms_opt_in=True)
        shopper = await gateway.connect("shopper", await gateway.shopper_token(), max_queue=None)
        customer = await gateway.connect("customer", view["customer_token"], max_queue=None)
        await join(shopper, "p-consent")
        await join(customer, "p-consent")
        seq = await shopper_says(shopper, "p-consent", "Need anything else?", "s1")
        assert await receipts(shopper, 1) == [(seq, "held")]
        switched = await gateway.http.put(
            "/v1/orders/p-consent/sms", json={"opt_in": False}, headers=auth(view["customer_token"])
        )
        assert switched.status_code == 200

        (receipt,) = await receipt_frames(shopper, 1)
        assert (receipt["seq"], receipt["sms"], receipt.get("reason")) == (seq, "not_sent", "no_consent")
        assert chat_texts(gateway, "Need anything else?") == []


async def test_chat_fallback_0s_texts_every_message_at_once():
    async with running_gateway(config("0s")) as gateway:
        shopper, _ = await conversation(gateway, "p-v1")
        seq = await shopper_says(shopper, "p-v1", "Starting now", "s1")
        assert await receipts(shopper, 2) == [(seq, "queued"), (seq, "delivered")]


async def test_status_texts_are_never_held():
    async with running_gateway(config(LONG_WINDOW)) as gateway:
        shopper, _ = await conversation(gateway, "p-status")
        start = gateway.phone.outbox[-1].n
        await gateway.event("p-status", "staged")
        (staged,) = await texts_since(gateway.phone, start, 1)
        assert "ready" in staged.body


async def test_a_page_on_one_node_holds_a_message_sent_on_another(redis_gateway):
    raw = config(LONG_WINDOW, **redis_gateway)  # one Redis, and a Redis Cluster
    async with running_gateway(raw) as node_a, running_gateway(raw) as node_b:
        view = await node_a.picking_order("p-two-nodes", sms_opt_in=True)
        shopper = await node_a.connect("shopper", await node_a.shopper_token(), max_queue=None)
        customer = await node_b.connect("customer", view["customer_token"], max_queue=None)
        await join(shopper, "p-two-nodes")
        await join(customer, "p-two-nodes")

        seq = await shopper_says(shopper, "p-two-nodes", "Held across nodes", "s1")
        assert await receipts(shopper, 1) == [(seq, "held")]
        await customer.send(json.dumps({"type": "read", "order_id": "p-two-nodes", "seq": seq}))
        assert await receipts(shopper, 1) == [(seq, "read_on_page")]
        listed = await node_a.http.get("/v1/orders/p-two-nodes", headers=auth(OPERATOR_KEY))
        assert listed.status_code == 200
