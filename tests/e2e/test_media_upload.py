"""Photos over HTTP (contract section 10): uploads by the order's customer or shopper, checked
by content and size, and served by signed link with headers that let nothing run."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from PIL import Image

from gateway.media.urls import MediaLinks
from support.app_server import SECRET, RunningGateway, auth, base_config, running_gateway
from support.clocks import SteppedClock
from support.images import gif, jpeg, png, webp

pytestmark = pytest.mark.e2e

SERVED = {
    "x-content-type-options": "nosniff",
    "cache-control": "private",
    "content-security-policy": "default-src 'none'; sandbox",
}

def link(gateway: RunningGateway, order_id: str, media_id: str, expires_at: int | None = None) -> str:
    """The path of a signed link to a photo, signed with the gateway's secret as any node would."""
    url = MediaLinks(SECRET, gateway.url).url(order_id, media_id, expires_at or int(time.time()) + 3600)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def upload(gateway: RunningGateway, order_id: str, token: str, data: bytes, content_type: str):
    headers = {**auth(token), "Content-Type": content_type}
    return await gateway.http.post(f"/v1/orders/{order_id}/media", content=data, headers=headers)


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[RunningGateway, SteppedClock]]:
    clock = SteppedClock()
    async with running_gateway(base_config(gateway={"chat_retention": "90s"}), clock=clock) as gateway:
        yield gateway, clock


async def test_a_customers_jpeg_is_stored_without_its_location_and_served_by_link(gateway) -> None:
    view = await gateway.picking_order("o-photo")
    original = jpeg()
    response = await upload(gateway, "o-photo", view["customer_token"], original, "image/jpeg")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"media_id", "content_type", "bytes"} and body["content_type"] == "image/jpeg"

    served = await gateway.http.get(link(gateway, "o-photo", body["media_id"]))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert {name: served.headers.get(name) for name in SERVED} == SERVED
    assert len(served.content) == body["bytes"]
    assert b"PhoneMaker" not in served.content and b"Elm Street" not in served.content
    assert not Image.open(io.BytesIO(served.content)).getexif()


@pytest.mark.parametrize(("data", "content_type"), [(png(), "image/png"), (gif(), "image/gif"), (webp(), "image/webp")])
async def test_the_assigned_shopper_uploads_and_other_types_are_served_as_they_came(gateway, data, content_type) -> None:
    await gateway.picking_order("o-shop", shopper_id="shopper-1")
    response = await upload(gateway, "o-shop", await gateway.shopper_token("shopper-1"), data, content_type)
    assert response.status_code == 201, response.text
    assert response.json()["bytes"] == len(data)
    served = await gateway.http.get(link(gateway, "o-shop", response.json()["media_id"]))
    assert (served.content, served.headers["content-type"]) == (data, content_type)


async def test_only_the_orders_own_customer_and_shopper_may_upload(gateway) -> None:
    view = await gateway.picking_order("o-mine", shopper_id="shopper-1")
    other = await gateway.picking_order("o-theirs", shopper_id="shopper-2")
    answers = {
        "no token": await gateway.http.post("/v1/orders/o-mine/media", content=png(), headers={"Content-Type": "image/png"}),
        "bad token": await upload(gateway, "o-mine", "not-a-token", png(), "image/png"),
        "other customer": await upload(gateway, "o-mine", other["customer_token"], png(), "image/png"),
        "other shopper": await upload(gateway, "o-mine", await gateway.shopper_token("shopper-2"), png(), "image/png"),
        "unknown order": await upload(gateway, "o-none", view["customer_token"], png(), "image/png"),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {"no token": 401, "bad token": 401, "other customer": 404, "other shopper": 403, "unknown order": 404}
    assert all("error" in response.json() for response in answers.values())


@pytest.mark.parametrize(
    ("data", "content_type", "says"),
    [
        (png(), "image/jpeg", "image/png"),  # the header lies: the bytes decide
        (b"<html><script>alert(1)</script></html>", "image/gif", "not an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", "Content-Type"),
        (png(), "text/plain", "Content-Type"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "image/jpeg", "readable"),  # starts like a JPEG, is not one
        (b"", "image/png", "not an image"),
    ],
)
async def test_bytes_that_are_not_the_image_they_claim_are_415(gateway, data, content_type, says) -> None:
    view = await gateway.picking_order("o-type")
    response = await upload(gateway, "o-type", view["customer_token"], data, content_type)
    assert response.status_code == 415, response.text
    assert says in response.json()["error"]["message"]


async def test_a_photo_larger_than_media_bytes_is_413_whether_or_not_its_length_is_declared() -> None:
    async with running_gateway(base_config(limits={"media_bytes": 2000})) as gateway:
        view = await gateway.picking_order("o-big")
        big = jpeg(width=400, height=400)
        assert len(big) > 2000
        declared = await upload(gateway, "o-big", view["customer_token"], big, "image/jpeg")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until the cap
            for start in range(0, len(big), 500):
                yield big[start : start + 500]

        headers = {**auth(view["customer_token"]), "Content-Type": "image/jpeg"}
        streamed = await gateway.http.post("/v1/orders/o-big/media", content=chunks(), headers=headers)
        small = await upload(gateway, "o-big", view["customer_token"], png(), "image/png")
    assert (declared.status_code, streamed.status_code, small.status_code) == (413, 413, 201)
    assert "2000 bytes" in declared.json()["error"]["message"]


async def test_a_decompression_bomb_is_413(gateway) -> None:
    from support.images import huge_png

    view = await gateway.picking_order("o-bomb")
    response = await upload(gateway, "o-bomb", view["customer_token"], huge_png(), "image/png")
    assert response.status_code == 413 and "pixels" in response.json()["error"]["message"]


async def test_no_upload_unless_the_chat_is_open(gateway) -> None:
    created = await gateway.create_order("o-early")
    token = created.json()["customer_token"]
    early = await upload(gateway, "o-early", token, png(), "image/png")
    await gateway.event("o-early", "picking", shopper={"id": "shopper-1", "name": "Alex"})
    await gateway.event("o-early", "delivered")
    late = await upload(gateway, "o-early", token, png(), "image/png")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "chat_not_open")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "chat_closed")


async def test_a_wrong_or_expired_signature_is_403(gateway) -> None:
    view = await gateway.picking_order("o-sig")
    media_id = (await upload(gateway, "o-sig", view["customer_token"], png(), "image/png")).json()["media_id"]
    good = link(gateway, "o-sig", media_id)
    answers = [
        await gateway.http.get(f"/media/{media_id}"),
        await gateway.http.get(good[:-3] + "AAA"),
        await gateway.http.get(link(gateway, "o-sig", media_id, expires_at=int(time.time()) - 1)),
        await gateway.http.get(good.replace(media_id, media_id[:-1] + "x")),  # another photo, this one's signature
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert (await gateway.http.get(good)).status_code == 200


async def test_a_photo_of_a_purged_order_is_404(clocked) -> None:
    gateway, clock = clocked
    view = await gateway.picking_order("o-purge")
    media_id = (await upload(gateway, "o-purge", view["customer_token"], png(), "image/png")).json()["media_id"]
    url = link(gateway, "o-purge", media_id, expires_at=int(time.time()) + 3600)
    await gateway.event("o-purge", "delivered")
    clock.offset = 60
    kept = await gateway.http.get(url)  # a closed chat's photos stay readable for chat_retention
    clock.offset = 91
    purged = await gateway.http.get(url)
    assert (kept.status_code, purged.status_code) == (200, 404)


async def test_a_photo_uploaded_on_one_node_is_served_by_another(redis_url: str) -> None:
    config = base_config(gateway={"redis_url": redis_url})
    async with running_gateway(config) as node_a, running_gateway(config) as node_b:
        view = await node_a.picking_order("o-nodes-photo")
        data = png(16, 16)
        media_id = (await upload(node_a, "o-nodes-photo", view["customer_token"], data, "image/png")).json()["media_id"]
        served = await node_b.http.get(link(node_b, "o-nodes-photo", media_id))
    assert (served.status_code, served.content) == (200, data)
