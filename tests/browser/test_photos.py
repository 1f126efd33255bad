"""Photos on the Order Status page (contract section 10): the customer attaches one (button or
paste) and the shopper gets it; a shopper's photo shows as a thumbnail that opens full size."""

from __future__ import annotations

import base64
import json

import pytest
from playwright.async_api import Page, expect

from support.app_server import auth, frame_of, join
from support.images import png
from support.order_page import UI_TIMEOUT, open_order

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASTE = """async ([b64, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], "pasted.png", { type }));
  const box = document.getElementById("composer-text");
  box.focus();
  box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}"""


async def shopper_of(gateway, order_id: str):
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, order_id)
    return shopper


async def test_the_customer_attaches_a_photo_with_the_button_and_the_shopper_gets_it(gateway, page: Page) -> None:
    view = await gateway.picking_order("web-photo-1")
    await open_order(page, view)
    shopper = await shopper_of(gateway, "web-photo-1")

    await page.locator("#composer input[type=file]").set_input_files(
        {"name": "milk.png", "mimeType": "image/png", "buffer": png(24, 24)}
    )
    await expect(page.locator(".attachments .attachment:not(.uploading)")).to_have_count(1, timeout=UI_TIMEOUT)
    await page.get_by_label("Message to your shopper").fill("This one?")
    await page.get_by_role("button", name="Send").click()

    got = (await frame_of(shopper, "message"))["message"]
    assert got["text"] == "This one?" and len(got["media"]) == 1
    thumbnail = page.locator(f'.msg[data-seq="{got["seq"]}"] .msg-photos img')
    await expect(thumbnail).to_have_attribute("alt", "Photo 1 of 1 you sent", timeout=UI_TIMEOUT)
    await expect(page.locator(".attachments .attachment")).to_have_count(0)
    assert await thumbnail.evaluate("(img) => img.complete && img.naturalWidth") == 24  # it loaded


async def test_a_pasted_photo_is_sent_alone(gateway, page: Page) -> None:
    view = await gateway.picking_order("web-photo-2")
    await open_order(page, view)
    shopper = await shopper_of(gateway, "web-photo-2")

    await page.evaluate(PASTE, [base64.b64encode(png(12, 12)).decode(), "image/png"])
    await expect(page.locator(".attachments .attachment:not(.uploading)")).to_have_count(1, timeout=UI_TIMEOUT)
    await page.get_by_role("button", name="Send").click()

    got = (await frame_of(shopper, "message"))["message"]
    assert (got["from"], got["text"], len(got["media"])) == ("customer", "", 1)
    served = await gateway.http.get(got["media"][0]["url"])
    assert served.content == png(12, 12)


async def test_a_file_that_is_not_a_photo_is_refused_on_the_page(gateway, page: Page) -> None:
    view = await gateway.picking_order("web-photo-3")
    await open_order(page, view)
    await page.locator("#composer input[type=file]").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}
    )
    await expect(page.locator("#composer-error")).to_have_text(
        "Only JPEG, PNG, GIF and WebP photos can be sent.", timeout=UI_TIMEOUT
    )
    await expect(page.locator(".attachments .attachment")).to_have_count(0)


async def test_a_shoppers_photo_shows_as_a_thumbnail_that_opens_full_size(gateway, page: Page) -> None:
    view = await gateway.picking_order("web-photo-4")
    await open_order(page, view)
    shopper = await shopper_of(gateway, "web-photo-4")
    token = await gateway.shopper_token()
    uploaded = await gateway.http.post(
        "/v1/orders/web-photo-4/media", content=png(40, 20), headers={**auth(token), "Content-Type": "image/png"}
    )
    media_id = uploaded.json()["media_id"]
    await shopper.send(json.dumps(
        {"type": "send", "order_id": "web-photo-4", "client_id": "s1", "text": "Green or ripe?", "media": [media_id]}
    ))
    url = (await frame_of(shopper, "ack"))["message"]["media"][0]["url"]

    thumbnail = page.locator(".msg.from-shopper .msg-photos img")
    await expect(thumbnail).to_have_attribute("alt", "Photo 1 of 1 from Alex", timeout=UI_TIMEOUT)
    link = page.locator(".msg.from-shopper .msg-photos a")
    await expect(link).to_have_attribute("href", url)
    async with page.context.expect_page() as opened:
        await link.click()
    full = await opened.value
    await full.wait_for_load_state()
    assert full.url == url
    assert await full.evaluate("document.images.length && document.images[0].naturalWidth") == 40
