"""Replacement proposals (contract section 11) on one node: a shopper proposes, the customer
answers once, by button on the page or by texting a digit; everyone hears the answer, and the
history, a resume and the messages API show the proposal with it."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import ClientConnection

from support.app_server import (
    OPERATOR_KEY,
    RETAILER_KEY,
    RunningGateway,
    auth,
    frame_of,
    join,
    last_text_number,
    send_text,
    texts_since,
)
from support.images import png
from support.proposals import MILK, MILK_TEXT, answer, message_from, propose

pytestmark = pytest.mark.e2e

async def chat(gateway: RunningGateway, order_id: str, **body) -> tuple[ClientConnection, ClientConnection]:
    """An open order's shopper and customer, both joined."""
    view = await gateway.picking_order(order_id, **body)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    customer = await gateway.connect("customer", view["customer_token"])
    await join(shopper, order_id)
    await join(customer, order_id)
    return shopper, customer


async def text_in(gateway: RunningGateway, order_id: str, body: str) -> None:
    order = await gateway.services.store.get_order(order_id)
    assert await gateway.text_in(order.customer_phone, order.sender, body) == []


async def transcript(gateway: RunningGateway, order_id: str, key: str = OPERATOR_KEY) -> list[dict]:
    response = await gateway.http.get(f"/v1/orders/{order_id}/messages", headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()["messages"]


async def test_a_proposal_answered_on_the_page_is_told_to_everyone_and_kept_with_its_answer(gateway) -> None:
    shopper, customer = await chat(gateway, "o-prop")
    await propose(shopper, "o-prop", "p1", text="Sorry!")
    offered = (await frame_of(shopper, "ack"))["message"]
    assert offered["proposal"] == {**MILK, "answer": None}  # null, not omitted, until answered
    assert (offered["from"], offered["text"]) == ("shopper", "Sorry!")
    assert (await frame_of(customer, "message"))["message"] == offered

    await answer(customer, "o-prop", "a1", offered["seq"], 2)
    reply = (await frame_of(customer, "ack"))["message"]
    assert (reply["from"], reply["via"], reply["seq"]) == ("customer", "web", offered["seq"] + 1)
    assert reply["answer"] == {"seq": offered["seq"], "choice": 2}
    assert reply["text"] == "Yes, Store 2% milk is fine."
    assert await message_from(shopper, "customer") == reply
    for ws in (shopper, customer):
        told = await frame_of(ws, "proposal")
        assert told == {
            "type": "proposal", "order_id": "o-prop", "seq": offered["seq"],
            "answer": {"choice": 2, "via": "web", "at": reply["at"]},
        }

    # The retailer reads the substitution from the messages API: the proposal with its answer.
    messages = await transcript(gateway, "o-prop", RETAILER_KEY)
    assert [m["seq"] for m in messages] == [1, 2]
    assert messages[0]["proposal"]["answer"] == {"choice": 2, "via": "web", "at": reply["at"]}
    assert messages[1] == reply


async def test_a_second_answer_on_a_socket_is_already_answered_and_a_retry_is_acked_again(gateway) -> None:
    shopper, customer = await chat(gateway, "o-twice")
    await propose(shopper, "o-twice", "p1")
    seq = (await frame_of(shopper, "ack"))["message"]["seq"]
    await answer(customer, "o-twice", "a1", seq, 0)
    first = (await frame_of(customer, "ack"))["message"]
    assert first["text"] == "No replacement, thanks."

    await answer(customer, "o-twice", "a1", seq, 0)  # the same frame again: a retry
    assert (await frame_of(customer, "ack"))["message"] == first
    await answer(customer, "o-twice", "a2", seq, 1)
    refused = await frame_of(customer, "error")
    assert (refused["code"], refused["client_id"]) == ("already_answered", "a2")
    history = await transcript(gateway, "o-twice")
    assert len(history) == 2 and history[0]["proposal"]["answer"]["choice"] == 0


async def test_a_resume_shows_the_proposal_with_its_answer(gateway) -> None:
    view = await gateway.picking_order("o-resume")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-resume")
    await send_text(shopper, "o-resume", "Starting now", "s1")
    assert (await frame_of(shopper, "ack"))["message"]["seq"] == 1
    await propose(shopper, "o-resume", "p1")
    seq = (await frame_of(shopper, "ack"))["message"]["seq"]
    customer = await gateway.connect("customer", view["customer_token"])
    await join(customer, "o-resume")
    await answer(customer, "o-resume", "a1", seq, 1)
    reply = (await frame_of(customer, "ack"))["message"]
    await customer.close()

    again = await gateway.connect("customer", view["customer_token"])
    joined = await join(again, "o-resume", after=1)
    assert [m["seq"] for m in joined["history"]] == [2, 3]
    assert joined["history"][0]["proposal"]["answer"] == {"choice": 1, "via": "web", "at": reply["at"]}
    assert joined["history"][1] == reply


async def test_a_digit_answers_the_latest_open_proposal_and_other_texts_are_chat(gateway) -> None:
    shopper, customer = await chat(gateway, "o-digit", sms_opt_in=True)
    await text_in(gateway, "o-digit", "2")  # no proposal open: ordinary chat
    assert (await message_from(shopper, "customer"))["text"] == "2"

    await propose(shopper, "o-digit", "p1")
    older = (await frame_of(shopper, "ack"))["message"]["seq"]
    await propose(shopper, "o-digit", "p2", item="Rye bread", options=["Spelt bread"])
    latest = (await frame_of(shopper, "ack"))["message"]["seq"]
    await text_in(gateway, "o-digit", "2")  # out of range for the latest (one option): chat
    assert (await message_from(shopper, "customer"))["text"] == "2"
    await text_in(gateway, "o-digit", "1 please")  # not just a digit: chat
    assert (await message_from(shopper, "customer"))["text"] == "1 please"

    await text_in(gateway, "o-digit", " 1 ")
    reply = (await message_from(shopper, "customer"))
    assert (reply["via"], reply["answer"], reply["text"]) == ("sms", {"seq": latest, "choice": 1}, "Yes, Spelt bread is fine.")
    told = await frame_of(customer, "proposal")  # the page hears it too
    assert (told["seq"], told["answer"]["via"]) == (latest, "sms")

    await text_in(gateway, "o-digit", "0")  # now the older one is the latest open proposal
    reply = (await message_from(shopper, "customer"))
    assert reply["answer"] == {"seq": older, "choice": 0}
    await text_in(gateway, "o-digit", "1")  # none open any more: chat
    assert "answer" not in (await message_from(shopper, "customer"))
    answered = {m["seq"]: m["proposal"]["answer"]["choice"] for m in await transcript(gateway, "o-digit") if "proposal" in m}
    assert answered == {older: 0, latest: 1}


async def test_a_proposal_is_texted_in_its_own_words_with_its_photos(gateway) -> None:
    await gateway.picking_order("o-texted", sms_opt_in=True)  # the customer is not on the page
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-texted")
    photo = await gateway.http.post(
        "/v1/orders/o-texted/media", content=png(),
        headers={**auth(await gateway.shopper_token()), "Content-Type": "image/png"},
    )
    start = last_text_number(gateway.phone)
    await propose(shopper, "o-texted", "p1", text=None, media=[photo.json()["media_id"]])  # no note: null
    offered = (await frame_of(shopper, "ack"))["message"]
    [text] = await texts_since(gateway.phone, start, 1)
    assert text.body == MILK_TEXT
    assert list(text.media_urls) == [offered["media"][0]["url"]]
    receipt = await frame_of(shopper, "receipt")
    assert (receipt["seq"], receipt["sms"]) == (offered["seq"], "queued")


async def test_a_proposal_held_while_the_customer_reads_the_page_is_texted_in_its_words_when_they_look_away(
    gateway,
) -> None:
    shopper, customer = await chat(gateway, "o-held", sms_opt_in=True)  # on the page: present
    start = last_text_number(gateway.phone)
    await propose(shopper, "o-held", "p1")
    receipt = await frame_of(shopper, "receipt")
    assert receipt["sms"] == "held"
    await customer.send(json.dumps({"type": "presence", "order_id": "o-held", "visible": False}))
    [text] = await texts_since(gateway.phone, start, 1)
    assert text.body == MILK_TEXT  # the held text kept the proposal's own wording


async def test_without_consent_a_proposal_is_not_texted_and_the_page_still_answers(gateway) -> None:
    shopper, customer = await chat(gateway, "o-noconsent")  # delivery without sms_opt_in: off
    await propose(shopper, "o-noconsent", "p1")
    seq = (await frame_of(shopper, "ack"))["message"]["seq"]
    receipt = await frame_of(shopper, "receipt")
    assert (receipt["seq"], receipt["sms"]) == (seq, "not_sent")
    await answer(customer, "o-noconsent", "a1", seq, 1)
    assert (await frame_of(shopper, "proposal"))["answer"]["choice"] == 1
    await gateway.jobs.drained("text")
    assert [t for t in gateway.phone.outbox if "Organic 2% milk" in t.body] == []


async def test_a_proposal_before_picking_is_chat_not_open(gateway) -> None:
    created = await gateway.create_order("o-early")
    assert created.status_code == 201
    assigned = await gateway.event("o-early", "acknowledged", shopper={"id": "shopper-1", "name": "Alex"})
    assert assigned.status_code == 200
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-early")
    await propose(shopper, "o-early", "p1")
    refused = await frame_of(shopper, "error")
    assert (refused["code"], refused["client_id"]) == ("chat_not_open", "p1")
    assert await transcript(gateway, "o-early") == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"options": []}, "bad_frame"),
        ({"options": ["a", "b", "c", "d"]}, "bad_frame"),
        ({"item": "  "}, "bad_frame"),
        ({"item": "x" * 81}, "too_long"),
        ({"options": ["fine", "y" * 81]}, "too_long"),
        ({"text": "z" * 1001}, "too_long"),
        ({"media": ["not-a-photo-of-this-order"]}, "bad_media"),
    ],
)
async def test_a_proposal_out_of_bounds_is_refused_with_its_code(gateway, fields: dict, code: str) -> None:
    shopper, _ = await chat(gateway, "o-bounds")
    await propose(shopper, "o-bounds", "p1", **fields)
    refused = await frame_of(shopper, "error")
    assert (refused["code"], refused["client_id"]) == (code, "p1")


async def test_only_the_shopper_proposes_and_only_the_customer_answers_a_real_choice(gateway) -> None:
    shopper, customer = await chat(gateway, "o-roles")
    await propose(customer, "o-roles", "c1")
    assert (await frame_of(customer, "error"))["code"] == "not_authorized"
    await send_text(shopper, "o-roles", "Hello", "s0")
    plain = (await frame_of(shopper, "ack"))["message"]["seq"]
    await propose(shopper, "o-roles", "p1")
    seq = (await frame_of(shopper, "ack"))["message"]["seq"]
    await answer(shopper, "o-roles", "s1", seq, 1)
    assert (await frame_of(shopper, "error"))["code"] == "not_authorized"
    for client_id, target, choice in (("c2", seq, 3), ("c3", plain, 1), ("c4", 99, 1)):
        await answer(customer, "o-roles", client_id, target, choice)
        refused = await frame_of(customer, "error")
        assert (refused["code"], refused["client_id"]) == ("bad_frame", client_id)
    assert len(await transcript(gateway, "o-roles")) == 2  # nothing was stored by the refusals
