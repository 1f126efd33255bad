"""The Order Status page in Debian's headless Chromium, against the gateway under uvicorn:
what a customer sees and does, and that the page rides out a dropped connection."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, WebSocketRoute, expect

from support.app_server import OPERATOR_KEY, auth, frame_of, join, send_text
from support.order_page import UI_TIMEOUT, new_order, open_order, transcript

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CUSTOMER_WS = re.compile(r"/ws/customer\?")


async def test_page_shows_status_and_why_chat_is_closed_before_shopping(gateway, page):
    view = await new_order(gateway, "web-1")
    await open_order(page, view)

    await expect(page.locator("#status-headline")).to_have_text("Order placed")
    await expect(page.locator("#timeline [data-step=placed]")).to_have_attribute("aria-current", "step")
    await expect(page.locator(".chat-reason:visible")).to_have_text(
        "Chat opens when your shopper starts shopping."
    )
    await expect(page.get_by_label("Message to your shopper")).to_be_disabled()
    await expect(page.locator("#connection")).to_have_text("Live")


async def test_picking_opens_chat_without_reload(gateway, page):
    view = await new_order(gateway, "web-2")
    await open_order(page, view)
    await page.evaluate("window.stillTheSamePage = true")

    picked = await gateway.event("web-2", "picking", shopper={"id": "shopper-1", "name": "Alex"})
    assert picked.json() == {"applied": True, "status": "picking"}

    await expect(page.locator("#status-headline")).to_have_text("Shopping", timeout=UI_TIMEOUT)
    await expect(page.get_by_label("Message to your shopper")).to_be_enabled()
    await expect(page.locator(".chat-reason:visible")).to_have_count(0)
    assert await page.evaluate("window.stillTheSamePage") is True


async def test_chat_goes_from_page_to_shopper_and_back(gateway, page):
    view = await gateway.picking_order("web-3")
    await open_order(page, view)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "web-3")

    await page.get_by_label("Message to your shopper").fill("Ripe bananas please")
    await page.get_by_role("button", name="Send").click()
    received = await frame_of(shopper, "message")
    assert (received["message"]["from"], received["message"]["via"], received["message"]["text"]) == (
        "customer", "web", "Ripe bananas please",
    )
    await send_text(shopper, "web-3", "Found some, on it!", "shopper-c1")

    await expect(page.locator(".msg.from-shopper .msg-text")).to_have_text("Found some, on it!", timeout=UI_TIMEOUT)
    await expect(page.locator(".msg.from-customer:not(.pending) .msg-text")).to_have_text(["Ripe bananas please"])


async def test_sms_switch_turns_texts_off_and_on(gateway, page):
    view = await new_order(gateway, "web-4")
    await open_order(page, view)
    switch = page.get_by_role("switch", name=re.compile("by text"))
    await expect(switch).to_be_checked()

    await switch.click()
    await expect(page.locator("#sms-state")).to_have_text("Texts are off.", timeout=UI_TIMEOUT)
    stored = await gateway.http.get("/v1/orders/web-4", headers=auth(OPERATOR_KEY))
    assert stored.json()["sms"] == {"opt_in": False, "source": "customer"}

    await switch.click()
    await expect(page.locator("#sms-state")).to_have_text("Texts are on.", timeout=UI_TIMEOUT)
    stored = await gateway.http.get("/v1/orders/web-4", headers=auth(OPERATOR_KEY))
    assert stored.json()["sms"] == {"opt_in": True, "source": "customer"}


async def test_sms_switch_explains_that_stop_needs_start(gateway, page):
    view = await new_order(gateway, "web-5", customer={"phone": "+15551230005"})
    record = await gateway.services.store.get_order("web-5")
    stop = await gateway.http.post(
        "/dev/api/phone/reply", json={"phone": "+15551230005", "sender": record.sender, "body": "STOP"}
    )
    assert stop.status_code == 200, stop.text
    await open_order(page, view)
    switch = page.get_by_role("switch", name=re.compile("by text"))
    await expect(switch).not_to_be_checked()

    await switch.click()

    await expect(page.locator("#sms-error")).to_have_text(
        f"You texted STOP. Text START to {record.sender} to turn texts back on.", timeout=UI_TIMEOUT
    )
    await expect(switch).not_to_be_checked()


class Link:
    """Stands between the page and the gateway (Playwright's WebSocket routing), so a test can
    cut the page's connection and keep it from reaching the server until it lets it."""

    def __init__(self) -> None:
        self.routes: list[WebSocketRoute] = []
        self.open = True
        self.lose_answers = False  # drop the server's ack/message frames and cut the link

    async def handle(self, route: WebSocketRoute) -> None:
        self.routes.append(route)
        if not self.open:
            return  # not connected to the server: the page's join goes nowhere
        server = route.connect_to_server()
        cut = False

        async def from_server(message: str | bytes) -> None:
            nonlocal cut
            if cut:
                return
            if self.lose_answers and json.loads(message)["type"] in ("ack", "message"):
                cut, self.lose_answers, self.open = True, False, False
                await route.close()
                return
            route.send(message)

        server.on_message(from_server)

    async def cut(self) -> None:
        self.open = False
        await self.routes[-1].close()

    async def restore(self) -> None:
        self.open = True
        await self.routes[-1].close()  # the page reconnects, this time to the server


async def test_page_reconnects_and_resumes_from_its_last_seq(gateway, page):
    link = Link()
    await page.route_web_socket(CUSTOMER_WS, link.handle)
    view = await gateway.picking_order("web-6")
    await open_order(page, view)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "web-6")
    await send_text(shopper, "web-6", "Before the drop", "shopper-b1")
    await expect(page.locator(".msg.from-shopper")).to_have_count(1, timeout=UI_TIMEOUT)

    await link.cut()
    await expect(page.locator("#connection")).to_have_text("Reconnecting…", timeout=UI_TIMEOUT)
    await send_text(shopper, "web-6", "While you were away", "shopper-b2")
    await frame_of(shopper, "ack")
    await page.get_by_label("Message to your shopper").fill("Typed while offline")
    await page.get_by_label("Message to your shopper").press("Enter")
    await expect(page.locator(".msg.pending .msg-state")).to_have_text("Sending…")
    await link.restore()

    await expect(page.locator("#connection")).to_have_text("Live", timeout=UI_TIMEOUT)
    await expect(page.locator(".msg.from-shopper .msg-text")).to_have_text(
        ["Before the drop", "While you were away"], timeout=UI_TIMEOUT
    )
    await expect(page.locator(".msg.from-customer:not(.pending) .msg-text")).to_have_text(
        ["Typed while offline"], timeout=UI_TIMEOUT
    )
    texts = [message["text"] for message in await transcript(gateway, "web-6")]
    assert texts == ["Before the drop", "While you were away", "Typed while offline"]


async def test_a_send_whose_answer_was_lost_is_not_duplicated(gateway, page):
    link = Link()
    await page.route_web_socket(CUSTOMER_WS, link.handle)
    view = await gateway.picking_order("web-7")
    await open_order(page, view)

    link.lose_answers = True
    await page.get_by_label("Message to your shopper").fill("Only once please")
    await page.get_by_label("Message to your shopper").press("Enter")
    await expect(page.locator("#connection")).to_have_text("Reconnecting…", timeout=UI_TIMEOUT)
    await expect(page.locator(".msg.pending .msg-text")).to_have_text("Only once please")
    await link.restore()

    await expect(page.locator("#connection")).to_have_text("Live", timeout=UI_TIMEOUT)
    await expect(page.locator(".msg.from-customer:not(.pending) .msg-text")).to_have_text(
        ["Only once please"], timeout=UI_TIMEOUT
    )
    await expect(page.locator(".msg.pending")).to_have_count(0)
    texts = [message["text"] for message in await transcript(gateway, "web-7")]
    assert texts == ["Only once please"]
