"""What a customer meets on the Order Status page at every status (contract section 8): the
shopper's name as soon as one is assigned, a canceled order never called complete, a
last_mile order's driver, the SMS switch read-only once the order is over, dated bubbles, and
an unread count while the page is hidden. Screenshots of every status at phone and desktop
size are saved for a person to look at."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime

import pytest
from playwright.async_api import Page, WebSocketRoute, expect

from support.app_server import collect, frame_of, join, running_gateway, send_text
from support.order_page import DESKTOP, PHONE, UI_TIMEOUT, all_words, new_order, open_order, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_shopper_name_shows_as_soon_as_one_is_assigned(gateway, page):
    view = await new_order(gateway, "st-1")
    await open_order(page, view)
    await page.evaluate("window.stillTheSamePage = true")
    await expect(page.locator("#shopper-line")).to_be_hidden()

    await gateway.event("st-1", "acknowledged", shopper={"id": "shopper-1", "name": "Alex"})

    await expect(page.locator("#shopper-line")).to_have_text("Your shopper is Alex", timeout=UI_TIMEOUT)
    await gateway.event("st-1", "brand_new", "st-1-late", shopper={"id": "shopper-2", "name": "Sam"})
    await expect(page.locator("#shopper-line")).to_have_text("Your shopper is Sam", timeout=UI_TIMEOUT)
    await expect(page.locator("#status-headline")).to_have_text("Order placed")
    assert await page.evaluate("window.stillTheSamePage") is True


@pytest.mark.parametrize(
    ("final", "reason"),
    [
        ("canceled", "This order was canceled; chat is read-only."),
        ("delivered", "This order is complete; chat is read-only."),
    ],
)
async def test_a_closed_chat_says_why_and_a_canceled_order_is_never_complete(gateway, page, final, reason):
    view = await gateway.picking_order(f"st-2-{final}")
    await open_order(page, view)

    await gateway.event(f"st-2-{final}", final)

    await expect(page.locator(".chat-reason:visible")).to_have_text(reason, timeout=UI_TIMEOUT)
    await expect(page.locator("#composer-text")).to_be_hidden()
    await page.reload()  # and as the server renders it
    await expect(page.locator(".chat-reason:visible")).to_have_text(reason)
    if final == "canceled":
        await expect(page.locator("#status-headline")).to_have_text("Canceled")
        assert "complete" not in (await page.locator("body").inner_text()).lower()


async def test_last_mile_calls_its_driver_so_and_offers_no_chat(gateway, page):
    view = await new_order(gateway, "st-4", workflow="last_mile")
    await open_order(page, view)

    await gateway.event("st-4", "delivering", shopper={"id": "driver-1", "name": "Dana"})

    await expect(page.locator("#shopper-line")).to_have_text("Your driver is Dana", timeout=UI_TIMEOUT)
    await expect(page.locator("#chat-title")).to_have_text("Chat")
    await expect(page.locator(".chat-reason:visible")).to_have_text("Chat isn't offered for this order.")
    await expect(page.locator("#composer-text")).to_be_hidden()
    await expect(page.locator("#messages")).to_be_hidden()
    words = await all_words(page.locator("body"))
    assert "driver" in words
    assert "shopper" not in words.lower(), words
    assert "shopper" not in (await page.title()).lower()


@pytest.mark.parametrize("final", ["delivered", "canceled"])
async def test_sms_switch_is_read_only_once_the_order_is_over(gateway, page, final):
    view = await gateway.picking_order(f"st-5-{final}", sms_opt_in=True)
    await open_order(page, view)
    switch = page.get_by_role("switch", name="Send me order updates and shopper messages by text")
    await expect(switch).to_be_enabled()

    await gateway.event(f"st-5-{final}", final)

    await expect(switch).to_be_disabled(timeout=UI_TIMEOUT)
    await expect(page.locator("#sms-final")).to_be_visible()
    await switch.click(force=True)  # a click on a disabled switch changes nothing
    await expect(switch).to_be_checked()
    await page.reload()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=UI_TIMEOUT)
    await expect(switch).to_be_disabled()
    await expect(switch).to_be_checked()


def expected_label(at: datetime, today: datetime) -> str:
    """en-US, as the page writes it: the date only when it is not today."""
    clock = at.strftime("%I:%M %p").lstrip("0")
    if at.date() == today.date():
        return clock
    day = f"{at.strftime('%b')} {at.day}" + (f", {at.year}" if at.year != today.year else "")
    return f"{day}, {clock}"


async def test_every_bubble_has_a_machine_readable_time_and_a_date_when_not_today(pages):
    now = time.time()
    clock = [now - 2 * 86400]
    async with running_gateway(clock=lambda: clock[0]) as gateway:
        view = await gateway.picking_order("st-6")
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        await join(shopper, "st-6")
        await send_text(shopper, "st-6", "Your order from two days ago", "old-1")
        old = (await frame_of(shopper, "ack"))["message"]
        clock[0] = now
        await send_text(shopper, "st-6", "And one from today", "new-1")
        new = (await frame_of(shopper, "ack"))["message"]
        page = await pages.new(locale="en-US", timezone_id="UTC")
        await page.clock.set_fixed_time(now + 1)

        await open_order(page, view)

        times = page.locator(".msg time")
        await expect(times).to_have_count(2, timeout=UI_TIMEOUT)
        assert [await t.get_attribute("datetime") for t in await times.all()] == [old["at"], new["at"]]
        today = from_iso(new["at"])
        shown = [" ".join((await t.inner_text()).split()) for t in await times.all()]  # U+202F before AM
        assert shown == [expected_label(from_iso(old["at"]), today), expected_label(today, today)]
        await screenshot(page, "dated-bubbles-phone")


def from_iso(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


async def frames_before_pong(ws) -> list[dict]:
    await ws.send(json.dumps({"type": "ping"}))
    frames = []
    while (frame := await frame_of_any(ws))["type"] != "pong":
        frames.append(frame)
    return frames


async def frame_of_any(ws) -> dict:
    return (await collect(ws, {"message", "ack", "read", "typing", "status", "receipt", "pong"}, 1))[0]


async def test_messages_while_hidden_raise_an_unread_count_cleared_when_shown(gateway, page):
    view = await gateway.picking_order("st-7")
    await open_order(page, view)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "st-7")
    title = await page.title()

    await page.evaluate("setPageHidden(true)")
    await send_text(shopper, "st-7", "Is oat milk fine?", "u-1")
    await send_text(shopper, "st-7", "They're out of almond", "u-2")

    await expect(page.locator("#unread")).to_have_text("2 new messages", timeout=UI_TIMEOUT)
    await expect(page).to_have_title(f"(2) {title}")
    assert [f["type"] for f in await frames_before_pong(shopper) if f["type"] == "read"] == []
    await screenshot(page, "unread-phone")

    await page.evaluate("setPageHidden(false)")

    await expect(page.locator("#unread")).to_be_hidden(timeout=UI_TIMEOUT)
    await expect(page).to_have_title(title)
    read = await frame_of(shopper, "read")
    assert (read["by"], read["seq"]) == ("customer", 2)


async def test_page_tells_the_gateway_whether_it_is_in_view(gateway, page):
    sent: asyncio.Queue[dict] = asyncio.Queue()

    async def relay(route: WebSocketRoute) -> None:
        server = route.connect_to_server()

        def from_page(message: str | bytes) -> None:
            sent.put_nowait(json.loads(message))
            server.send(message)

        route.on_message(from_page)

    await page.route_web_socket(re.compile(r"/ws/customer\?"), relay)
    view = await gateway.picking_order("st-8")

    await open_order(page, view)
    assert [await next_sent(sent, ("join", "presence")) for _ in range(2)] == [
        {"type": "join", "order_id": "st-8", "after": 0},
        {"type": "presence", "order_id": "st-8", "visible": True},
    ]
    await page.evaluate("setPageHidden(true)")
    assert await next_sent(sent, ("presence",)) == {"type": "presence", "order_id": "st-8", "visible": False}
    await page.evaluate("setPageHidden(false)")
    assert await next_sent(sent, ("presence",)) == {"type": "presence", "order_id": "st-8", "visible": True}


async def next_sent(sent: asyncio.Queue[dict], types: tuple[str, ...]) -> dict:
    """The next frame the page sent of one of these types (pings and reads skipped)."""
    async def find() -> dict:
        while (frame := await sent.get())["type"] not in types:
            pass
        return frame

    return await asyncio.wait_for(find(), UI_TIMEOUT / 1000)


# --- screenshots of every status, phone and desktop ---------------------------------------------

STATUSES = {
    "delivery": ["brand_new", "picking", "checkout", "staged", "delivering", "delivered", "canceled"],
    "pickup": ["staged", "delivered"],
    "last_mile": ["brand_new", "delivering", "delivered"],
}
HEADLINES = {
    ("delivery", "brand_new"): "Order placed", ("delivery", "picking"): "Shopping",
    ("delivery", "checkout"): "Checkout", ("delivery", "staged"): "Ready",
    ("delivery", "delivering"): "On the way", ("delivery", "delivered"): "Delivered",
    ("delivery", "canceled"): "Canceled", ("pickup", "staged"): "Ready for pickup",
    ("pickup", "delivered"): "Picked up", ("last_mile", "brand_new"): "Order placed",
    ("last_mile", "delivering"): "On the way", ("last_mile", "delivered"): "Delivered",
}


async def order_at(gateway, order_id: str, workflow: str, status: str) -> dict:
    view = await new_order(gateway, order_id, workflow=workflow, customer={"phone": "+15551239999"})
    person = {"id": "shopper-1", "name": "Alex"}
    if workflow != "last_mile" and status not in ("brand_new", "acknowledged"):
        await gateway.event(order_id, "picking", shopper=person)
        shopper = await gateway.connect("shopper", await gateway.shopper_token())
        await join(shopper, order_id)
        await send_text(shopper, order_id, "Hi! I'm starting on your order now.", f"{order_id}-1")
        await frame_of(shopper, "ack")
    if status not in ("brand_new", "picking"):
        await gateway.event(order_id, status, shopper=person if workflow == "last_mile" else None)
    return view


@pytest.mark.parametrize("workflow", STATUSES)
async def test_screenshots_at_every_status(gateway, pages, workflow):
    for status in STATUSES[workflow]:
        view = await order_at(gateway, f"shot-{workflow}-{status}", workflow, status)
        for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page: Page = await pages.new(viewport=viewport)
            await open_order(page, view)
            await expect(page.locator("#status-headline")).to_have_text(HEADLINES[workflow, status])
            if status not in ("brand_new", "canceled") and workflow != "last_mile":
                await expect(page.locator(".msg.from-shopper")).to_have_count(1, timeout=UI_TIMEOUT)
            await screenshot(page, f"{workflow}-{status}-{size}")
            await page.context.close()
