"""Replacement proposals on the Order Status page and on /dev (contract section 11): a card with
one button per option and "No replacement", answered by a click or the keyboard; once answered
it says the choice (in a live region) and its buttons are disabled."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from support.app_server import frame_of, join
from support.order_page import UI_TIMEOUT, open_order
from support.proposals import propose

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

async def proposed(gateway, order_id: str, client_id: str, **fields):
    """The shopper's socket, once it has proposed; and the proposal's seq."""
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, order_id)
    await propose(shopper, order_id, client_id, **fields)
    return shopper, (await frame_of(shopper, "ack"))["message"]["seq"]


async def test_a_click_answers_the_card_and_the_shopper_hears_it(gateway, page: Page) -> None:
    view = await gateway.picking_order("web-prop-1")
    await open_order(page, view)
    shopper, seq = await proposed(gateway, "web-prop-1", "p1")

    card = page.get_by_role("group", name="Organic 2% milk is out. Would you like a replacement?")
    await expect(card.get_by_role("button")).to_have_text(
        ["Organic whole milk", "Store 2% milk", "No replacement"], timeout=UI_TIMEOUT
    )
    await card.get_by_role("button", name="Store 2% milk").click()

    told = await frame_of(shopper, "proposal")
    assert (told["seq"], told["answer"]["choice"], told["answer"]["via"]) == (seq, 2, "web")
    live = card.locator("[aria-live=polite]")
    await expect(live).to_have_text("You chose: Store 2% milk", timeout=UI_TIMEOUT)
    for button in await card.get_by_role("button").all():
        await expect(button).to_be_disabled()
    await expect(card.get_by_role("button", name="Store 2% milk")).to_have_attribute("aria-pressed", "true")
    # The answer is a message from the customer, in words.
    await expect(page.locator(".msg.from-customer .msg-text")).to_have_text("Yes, Store 2% milk is fine.")


async def test_the_keyboard_answers_and_a_reload_shows_the_answered_card(gateway, page: Page) -> None:
    view = await gateway.picking_order("web-prop-2")
    await open_order(page, view)
    shopper, seq = await proposed(gateway, "web-prop-2", "p1", options=["Spelt bread"], item="Rye bread")

    first = page.get_by_role("button", name="Spelt bread")
    await expect(first).to_be_enabled(timeout=UI_TIMEOUT)
    await first.focus()
    await page.keyboard.press("Tab")  # to "No replacement"
    await expect(page.get_by_role("button", name="No replacement")).to_be_focused()
    await page.keyboard.press("Enter")
    told = await frame_of(shopper, "proposal")
    assert (told["seq"], told["answer"]["choice"]) == (seq, 0)

    await page.reload()
    card = page.locator(f'.msg[data-seq="{seq}"] .proposal')
    await expect(card.locator(".proposal-answer")).to_have_text("You chose: No replacement", timeout=UI_TIMEOUT)
    await expect(card.get_by_role("button", name="No replacement")).to_be_disabled()


async def test_an_answer_by_text_shows_on_the_open_page(gateway, page: Page) -> None:
    view = await gateway.picking_order("web-prop-3", sms_opt_in=True)
    await open_order(page, view)
    _, seq = await proposed(gateway, "web-prop-3", "p1")
    await expect(page.get_by_role("button", name="Organic whole milk")).to_be_enabled(timeout=UI_TIMEOUT)
    order = await gateway.services.store.get_order("web-prop-3")
    await gateway.text_in(order.customer_phone, order.sender, "1")
    card = page.locator(f'.msg[data-seq="{seq}"] .proposal')
    await expect(card.locator(".proposal-answer")).to_have_text("You chose by text: Organic whole milk", timeout=UI_TIMEOUT)
    await expect(card.get_by_role("button", name="Organic whole milk")).to_be_disabled()


async def test_dev_shopper_console_proposes_and_sees_the_phones_answer(gateway, page: Page) -> None:
    await page.goto(f"{gateway.url}/dev")
    await page.get_by_role("button", name="Create demo order").click()
    await page.get_by_role("button", name="picking").click()
    await expect(page.locator("#shopper-connection")).to_have_attribute("data-state", "live", timeout=UI_TIMEOUT)
    await page.get_by_text("Propose a replacement").click()
    await page.get_by_label("Out of stock item").fill("Organic 2% milk")
    await page.get_by_label("Option 1").fill("Organic whole milk")
    await page.get_by_label("Option 2 (optional)").fill("Store 2% milk")
    await page.get_by_role("button", name="Send proposal").click()

    card = page.locator("#shopper-messages .proposal")
    await expect(card.get_by_role("button")).to_have_count(3, timeout=UI_TIMEOUT)
    texted = page.locator("#phone-messages .msg.theirs", has_text="Reply 1 for Organic whole milk")
    await expect(texted).to_have_count(1, timeout=UI_TIMEOUT)  # the demo order is opted in
    await page.locator("#phone-text").fill("2")
    await page.locator("#phone-send").click()
    await expect(card.locator(".proposal-answer")).to_have_text(
        "The customer chose by text: Store 2% milk", timeout=UI_TIMEOUT
    )
