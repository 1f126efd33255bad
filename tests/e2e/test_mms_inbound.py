"""A customer's MMS (contract section 10): photos fetched from Twilio with the account's
credentials, from Twilio's host only, stored and shown in the chat; late ones follow, lost ones
are announced, and nothing stored is rewritten."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection

from support.app_server import OPERATOR_KEY, RunningGateway, auth, base_config, frame_of, join, running_gateway
from support.clocks import SteppedClock
from support.fake_twilio import FakeHost, FakeTwilio
from support.images import jpeg, png
from support.twilio_webhooks import PHONE, inbound_form, post_signed, twiml_messages

pytestmark = pytest.mark.e2e

ARRIVAL = 10.0  # a fetch, or a retry's backoff, with room to spare


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def gateway(fake_twilio: FakeTwilio, clock: SteppedClock) -> AsyncIterator[RunningGateway]:
    async with running_gateway(base_config(sms=fake_twilio.sms_config()), clock=clock) as running:
        yield running


async def open_chat(gateway: RunningGateway, phone: str = PHONE) -> tuple[str, str, ClientConnection]:
    """An open order of `phone`; returns its id, its sender number and a joined shopper socket."""
    order_id = f"o-{uuid.uuid4().hex[:12]}"
    await gateway.picking_order(order_id, customer={"phone": phone})
    record = await gateway.services.store.get_order(order_id)
    assert record is not None
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, order_id)
    return order_id, record.sender, shopper


def mms_form(body: str, sender: str, urls: list[str], types: list[str] | None = None, phone: str = PHONE) -> dict:
    extra = {f"MediaUrl{i}": url for i, url in enumerate(urls)}
    extra |= {f"MediaContentType{i}": kind for i, kind in enumerate(types or ["image/jpeg"] * len(urls))}
    return inbound_form(body, sender=sender, phone=phone, NumMedia=str(len(urls)), **extra)


async def message(ws: ClientConnection) -> dict:
    return (await frame_of(ws, "message", timeout=ARRIVAL))["message"]


async def test_a_photo_only_mms_joins_the_chat_with_its_photo(gateway, fake_twilio: FakeTwilio) -> None:
    order_id, sender, shopper = await open_chat(gateway)
    url = fake_twilio.add_media(jpeg(), "image/jpeg")
    answer = await post_signed(gateway, "/twilio/inbound", mms_form("", sender, [url]))
    assert twiml_messages(answer) == []  # answered at once, nothing to say
    got = await message(shopper)
    assert (got["from"], got["via"], got["text"]) == ("customer", "sms", "")
    [ref] = got["media"]
    assert ref["content_type"] == "image/jpeg"
    served = await gateway.http.get(ref["url"])
    assert served.status_code == 200 and b"PhoneMaker" not in served.content  # stripped like an upload
    [fetched] = fake_twilio.media_requests
    assert fetched.authorization is not None and fetched.answered == 200  # Basic auth, the account's


async def test_a_repeated_mms_webhook_is_stored_once(gateway, fake_twilio: FakeTwilio) -> None:
    order_id, sender, shopper = await open_chat(gateway)
    form = mms_form("Like this?", sender, [fake_twilio.add_media(png(), "image/png")], ["image/png"])
    await post_signed(gateway, "/twilio/inbound", form)
    await post_signed(gateway, "/twilio/inbound", form)  # Twilio retried
    first = await message(shopper)
    assert first["text"] == "Like this?" and len(first["media"]) == 1
    page = await gateway.http.get(f"/v1/orders/{order_id}/messages", headers=auth(OPERATOR_KEY))
    assert page.json()["messages"] == [first]


async def test_media_redirected_to_storage_is_fetched_without_the_credentials(
    gateway, fake_twilio: FakeTwilio, media_storage: FakeHost
) -> None:
    order_id, sender, shopper = await open_chat(gateway)
    stored = media_storage.put(png(), "image/png")
    url = fake_twilio.add_media(b"", "image/png", redirect_to=stored)
    await post_signed(gateway, "/twilio/inbound", mms_form("", sender, [url], ["image/png"]))
    got = await message(shopper)
    assert (await gateway.http.get(got["media"][0]["url"])).content == png()
    [at_twilio] = fake_twilio.media_requests
    [at_storage] = media_storage.requests
    assert at_twilio.authorization is not None and at_twilio.answered == 307
    assert at_storage.authorization is None  # the account's credentials stay with Twilio


async def test_a_media_url_on_another_host_is_never_fetched_and_is_announced(
    gateway, fake_twilio: FakeTwilio, elsewhere: FakeHost
) -> None:
    order_id, sender, shopper = await open_chat(gateway)
    good = fake_twilio.add_media(png(), "image/png")
    foreign = elsewhere.put(png(), "image/png")
    await post_signed(gateway, "/twilio/inbound", mms_form("Two photos", sender, [good, foreign], ["image/png"] * 2))
    first, notice = await message(shopper), await message(shopper)
    assert first["text"] == "Two photos" and len(first["media"]) == 1
    assert (notice["from"], notice["text"]) == ("system", "A photo the customer sent by text could not be received.")
    assert elsewhere.requests == []


async def test_endless_redirects_are_followed_three_times_then_given_up(
    gateway, fake_twilio: FakeTwilio, media_storage: FakeHost
) -> None:
    order_id, sender, shopper = await open_chat(gateway)
    url = fake_twilio.add_media(b"", "image/png", redirect_to=media_storage.redirect_loop())
    await post_signed(gateway, "/twilio/inbound", mms_form("loop", sender, [url], ["image/png"]))
    assert (await message(shopper))["text"] == "loop"
    assert (await message(shopper))["from"] == "system"
    assert len(media_storage.requests) == 3  # Twilio's redirect, then two of the loop's: three in all


async def test_a_late_photo_follows_the_text_and_a_lost_one_is_announced(
    gateway, fake_twilio: FakeTwilio, clock: SteppedClock
) -> None:
    order_id, sender, shopper = await open_chat(gateway)
    late = fake_twilio.add_media(png(), "image/png", held=True)
    never = fake_twilio.add_media(png(), "image/png", held=True)
    await post_signed(gateway, "/twilio/inbound", mms_form("Here", sender, [late, never], ["image/png"] * 2))
    await fake_twilio.wait_for_media_requests(2, timeout=ARRIVAL)  # tried, and Twilio said 503
    clock.offset = 11  # the 10 s are up: the text goes without its photos
    text = await message(shopper)
    assert text["text"] == "Here" and "media" not in text

    fake_twilio.release(late)
    follow_up = await message(shopper)
    assert (follow_up["from"], follow_up["text"], follow_up["seq"]) == ("customer", "", text["seq"] + 1)
    assert len(follow_up["media"]) == 1

    clock.offset = 3601  # an hour on, the other never came
    notice = await message(shopper)
    assert (notice["from"], notice["seq"]) == ("system", text["seq"] + 2)
    page = await gateway.http.get(f"/v1/orders/{order_id}/messages", headers=auth(OPERATOR_KEY))
    assert page.json()["messages"] == [text, follow_up, notice]  # appended, never rewritten


async def test_an_mms_whose_bytes_are_not_an_image_is_announced(gateway, fake_twilio: FakeTwilio) -> None:
    order_id, sender, shopper = await open_chat(gateway)
    url = fake_twilio.add_media(b"BEGIN:VCARD", "text/vcard")
    await post_signed(gateway, "/twilio/inbound", mms_form("my card", sender, [url], ["text/vcard"]))
    assert (await message(shopper))["text"] == "my card"
    assert (await message(shopper))["from"] == "system"


async def test_an_mms_in_on_one_node_is_shown_to_a_shopper_on_another(redis_url: str, fake_twilio: FakeTwilio) -> None:
    config = base_config(gateway={"redis_url": redis_url}, sms=fake_twilio.sms_config())
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        phone = f"+1555{uuid.uuid4().int % 10**7:07d}"  # Redis outlives a test: a phone of its own
        order_id, sender, shopper = await open_chat(node_a, phone)
        url = fake_twilio.add_media(jpeg(), "image/jpeg")
        await post_signed(node_b, "/twilio/inbound", mms_form("Node B got this", sender, [url], phone=phone))
        got = await message(shopper)
        assert got["text"] == "Node B got this" and len(got["media"]) == 1
        assert (await node_a.http.get(got["media"][0]["url"])).status_code == 200


async def test_the_dev_phone_sends_an_mms(gateway_console: RunningGateway) -> None:
    gateway = gateway_console
    order_id, sender, shopper = await open_chat(gateway)
    kept = await gateway.http.post("/dev/api/phone/photos", content=png(), headers={"Content-Type": "image/png"})
    assert kept.status_code == 201
    reply = {"phone": PHONE, "sender": sender, "body": "from the dev phone", "media_urls": [kept.json()["url"]]}
    assert (await gateway.http.post("/dev/api/phone/reply", json=reply)).status_code == 200
    got = await message(shopper)
    assert got["text"] == "from the dev phone"
    assert (await gateway.http.get(got["media"][0]["url"])).content == png()


@pytest.fixture
async def gateway_console() -> AsyncIterator[RunningGateway]:
    async with running_gateway() as running:
        yield running
