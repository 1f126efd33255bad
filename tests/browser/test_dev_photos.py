"""/dev with photos: the shopper console sends one, the phone shows the MMS, and the phone
texts one back that the shopper sees."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from support.images import png
from support.order_page import UI_TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_photos_go_from_the_shopper_console_to_the_phone_and_back(gateway, page: Page) -> None:
    await page.goto(f"{gateway.url}/dev")
    await page.get_by_role("button", name="Create demo order").click()
    await page.get_by_role("button", name="picking").click()
    await expect(page.locator("#shopper-connection")).to_have_attribute("data-state", "live", timeout=UI_TIMEOUT)

    await page.locator("#shopper-composer input[type=file]").set_input_files(
        {"name": "apples.png", "mimeType": "image/png", "buffer": png(30, 30)}
    )
    await expect(page.locator("#shopper-composer + .attachments .attachment:not(.uploading)")).to_have_count(
        1, timeout=UI_TIMEOUT
    )
    await page.locator("#shopper-text").fill("These apples?")
    await page.locator("#shopper-send").click()

    mms = page.locator("#phone-messages .msg.theirs", has_text="These apples?").locator(".msg-photos img")
    await expect(mms).to_have_count(1, timeout=UI_TIMEOUT)
    assert await mms.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 30
    sent = page.locator("#shopper-messages .msg.mine .msg-photos img")
    await expect(sent).to_have_attribute("alt", "Photo 1 of 1 you sent")

    await page.locator("#phone-photo").set_input_files({"name": "mine.png", "mimeType": "image/png", "buffer": png(20, 20)})
    await expect(page.locator("#phone-attachments img")).to_have_count(1, timeout=UI_TIMEOUT)
    await page.locator("#phone-text").fill("No, the red ones")
    await page.locator("#phone-send").click()

    received = page.locator("#shopper-messages .msg.theirs", has_text="No, the red ones").locator(".msg-photos img")
    await expect(received).to_have_attribute("alt", "Photo 1 of 1 from the customer", timeout=UI_TIMEOUT)
    assert await received.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 20
