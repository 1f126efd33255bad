"""Photos in chat (contract section 10): a send carries 1..3 photo ids of its order; every
participant, history, resume and the messages API see them with signed links; to a customer
on SMS a shopper's photos go as MMS."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection

from support.app_server import (
    OPERATOR_KEY,
    RunningGateway,
    auth,
    base_config,
    frame_of,
    join,
    last_text_number,
    running_gateway,
    texts_since,
)
from support.fake_twilio import FakeTwilio
from support.images import jpeg, png

pytestmark = pytest.mark.e2e

SEND_TIMEOUT = 10.0


async def upload(gateway: RunningGateway, order_id: str, token: str, data: bytes, content_type: str) -> dict:
    headers = {**auth(token), "Content-Type": content_type}
    response = await gateway.http.post(f"/v1/orders/{order_id}/media", content=data, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def send(ws: ClientConnection, order_id: str, client_id: str, text: str, media: list[str]) -> None:
    frame = {"type": "send", "order_id": order_id, "client_id": client_id, "text": text, "media": media}
    await ws.send(json.dumps(frame))


async def test_a_shoppers_photo_reaches_the_customer_with_a_link_that_serves_it(gateway) -> None:
    view = await gateway.picking_order("o-pic")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    customer = await gateway.connect("customer", view["customer_token"])
    await join(shopper, "o-pic")
    await join(customer, "o-pic")
    photo = await upload(gateway, "o-pic", await gateway.shopper_token(), png(), "image/png")

    await send(shopper, "o-pic", "s1", "", [photo["media_id"]])  # a photo alone is a message
    acked = (await frame_of(shopper, "ack"))["message"]
    got = (await frame_of(customer, "message"))["message"]
    assert got == acked and got["text"] == ""
    [ref] = got["media"]
    assert (ref["id"], ref["content_type"]) == (photo["media_id"], "image/png")
    assert ref["url"].startswith(f"{gateway.url}/media/{photo['media_id']}?sig=")
    served = await gateway.http.get(ref["url"])
    assert (served.status_code, served.content) == (200, png())


async def test_photos_are_in_history_on_resume_and_in_the_messages_api(gateway) -> None:
    view = await gateway.picking_order("o-hist")
    token = view["customer_token"]
    customer = await gateway.connect("customer", token)
    await join(customer, "o-hist")
    ids = [(await upload(gateway, "o-hist", token, data, kind))["media_id"]
           for data, kind in ((jpeg(), "image/jpeg"), (png(), "image/png"))]
    await customer.send(json.dumps({"type": "send", "order_id": "o-hist", "client_id": "c0", "text": "hi"}))
    plain = (await frame_of(customer, "ack"))["message"]
    await send(customer, "o-hist", "c1", "Is this the one I meant?", ids)
    with_photos = (await frame_of(customer, "ack"))["message"]
    assert "media" not in plain  # omitted, not null, on a message without photos
    assert [m["id"] for m in with_photos["media"]] == ids
    assert [m["content_type"] for m in with_photos["media"]] == ["image/jpeg", "image/png"]

    again = await gateway.connect("customer", token)
    assert (await join(again, "o-hist", after=plain["seq"]))["history"] == [with_photos]
    page = await gateway.http.get("/v1/orders/o-hist/messages?after=0", headers=auth(OPERATOR_KEY))
    assert page.json()["messages"] == [plain, with_photos]


@pytest.mark.parametrize(
    "case", ["other order", "unknown", "four photos", "same photo twice"],
)
async def test_a_photo_id_not_uploaded_to_the_order_is_bad_media(gateway, case: str) -> None:
    view = await gateway.picking_order("o-own")
    other = await gateway.picking_order("o-foreign", shopper_id="shopper-2")
    foreign = (await upload(gateway, "o-foreign", other["customer_token"], png(), "image/png"))["media_id"]
    mine = [(await upload(gateway, "o-own", view["customer_token"], png(), "image/png"))["media_id"] for _ in range(4)]
    media = {
        "other order": [foreign],
        "unknown": ["no-such-photo"],
        "four photos": mine,
        "same photo twice": [mine[0], mine[0]],
    }[case]
    customer = await gateway.connect("customer", view["customer_token"])
    await join(customer, "o-own")
    await send(customer, "o-own", "c1", "look", media)
    refused = await frame_of(customer, "error")
    assert (refused["code"], refused["client_id"]) == ("bad_media", "c1")
    await send(customer, "o-own", "c2", "", mine[:3])  # and the socket goes on
    assert len((await frame_of(customer, "ack"))["message"]["media"]) == 3


async def test_a_shoppers_photo_goes_to_a_texting_customer_as_mms_with_signed_public_urls(gateway) -> None:
    await gateway.picking_order("o-mms-console", sms_opt_in=True)
    await gateway.jobs.drained("text")  # the picking text is out
    start = last_text_number(gateway.phone)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-mms-console")
    photo = await upload(gateway, "o-mms-console", await gateway.shopper_token(), png(), "image/png")
    await send(shopper, "o-mms-console", "s1", "Is this it?", [photo["media_id"]])
    acked = (await frame_of(shopper, "ack"))["message"]
    [text] = await texts_since(gateway.phone, start, 1)
    assert text.body == "Is this it?" and list(text.media_urls) == [acked["media"][0]["url"]]


async def test_mms_through_twilio_carries_one_media_url_per_photo_and_gets_receipts(fake_twilio: FakeTwilio) -> None:
    async with running_gateway(base_config(sms=fake_twilio.sms_config())) as gateway:
        await gateway.picking_order("o-mms", sms_opt_in=True)
        await fake_twilio.wait_for_accepted(1, timeout=SEND_TIMEOUT)  # the picking text
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        await join(shopper, "o-mms")
        token = await gateway.shopper_token()
        ids = [(await upload(gateway, "o-mms", token, png(), "image/png"))["media_id"] for _ in range(2)]
        await send(shopper, "o-mms", "s1", "", ids)
        acked = (await frame_of(shopper, "ack"))["message"]
        receipts = []
        while "queued" not in receipts:
            receipts.append((await frame_of(shopper, "receipt", timeout=SEND_TIMEOUT))["sms"])
        [_, mms] = await fake_twilio.wait_for_accepted(2, timeout=SEND_TIMEOUT)
        assert list(mms.media_urls) == [ref["url"] for ref in acked["media"]]
        assert "Body" not in mms.form
        for url in mms.media_urls:  # what Twilio fetches: under public_url, served to anyone with it
            assert urlsplit(url).netloc == urlsplit(gateway.url).netloc
            assert (await gateway.http.get(url)).status_code == 200


async def test_a_photo_sent_on_one_node_reaches_and_is_served_on_another(redis_gateway: dict) -> None:
    config = base_config(gateway=redis_gateway)  # one Redis, and a Redis Cluster
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        order_id = f"o-{uuid.uuid4().hex[:12]}"
        view = await node_a.picking_order(order_id)
        shopper = await node_a.connect("shopper", await node_a.shopper_token())
        customer = await node_b.connect("customer", view["customer_token"])
        await join(shopper, order_id)
        await join(customer, order_id)
        photo = await upload(node_a, order_id, await node_a.shopper_token(), png(), "image/png")
        await send(shopper, order_id, "s1", "From node A", [photo["media_id"]])
        got = (await frame_of(customer, "message"))["message"]
        assert [m["id"] for m in got["media"]] == [photo["media_id"]]
        served = await node_b.http.get(got["media"][0]["url"].replace(node_a.url, node_b.url))
        assert (served.status_code, served.content) == (200, png())
        again = await node_b.connect("customer", view["customer_token"])
        assert (await join(again, order_id, after=0))["history"] == [got]
