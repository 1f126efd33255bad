"""The <order-chat> element on a retailer's own page, on another origin (contract section 8):
the same status and chat as the Order Status page, over CORS and a WebSocket whose Origin is
one of `allowed_origins`; from an origin not listed, nothing loads."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from support.app_server import (
    OPERATOR_KEY, RunningGateway, auth, base_config, frame_of, join, running_gateway, send_text,
)
from support.order_page import ALL_WORDS, DESKTOP, UI_TIMEOUT, screenshot
from support.serving import listening_socket, serving, url_of

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@dataclass
class Shop:
    """A retailer's site on its own port: /orders/<id> is its order page with the element."""

    url: str
    gateway: RunningGateway | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    def page_for(self, order_id: str, token: str) -> str:
        self.tokens[order_id] = token
        return f"{self.url}/orders/{order_id}"

    async def render(self, request: Request) -> HTMLResponse:
        order_id = request.path_params["order_id"]
        token = self.tokens.get(order_id, "not-a-token")
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Plum Market: your order</title>"
            f'<script type="module" src="{self.gateway.url}/embed.js"></script>'
            "<style>body{font-family:Georgia,serif;margin:0;background:#fbf7f2}"
            "nav{background:#3b0a57;color:#fff;padding:14px 20px;font-size:20px}"
            "article{max-width:760px;margin:0 auto;padding:8px 12px}</style></head>"
            "<body><nav>Plum Market</nav><article><p>Thanks for shopping with us.</p>"
            f'<order-chat order-id="{html.escape(order_id)}" token="{html.escape(token)}"></order-chat>'
            "</article></body></html>"
        )


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """The shop's server and a gateway that lists the shop's origin in allowed_origins."""
    sock = listening_socket()
    site = Shop(url=url_of(sock))
    app = Starlette(routes=[Route("/orders/{order_id}", site.render)])
    config = base_config(gateway={"allowed_origins": [site.url]})
    async with running_gateway(config) as gateway, serving(app, sock):
        site.gateway = gateway
        yield site


def element(page: Page, selector: str):
    return page.locator(f"order-chat {selector}")  # CSS locators reach into its open shadow root


async def open_embedded(page: Page, url: str) -> None:
    await page.goto(url)
    await expect(element(page, "#connection")).to_have_attribute("data-state", "live", timeout=UI_TIMEOUT)


async def test_element_shows_status_and_chat_on_a_retailers_page(shop, page):
    gateway = shop.gateway
    view = await gateway.picking_order("emb-b1")
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "emb-b1")

    await open_embedded(page, shop.page_for("emb-b1", view["customer_token"]))

    await expect(element(page, "#status-headline")).to_have_text("Shopping")
    await expect(element(page, "#shopper-line")).to_have_text("Your shopper is Alex")
    await page.get_by_label("Message to your shopper").fill("Green bananas, please")
    await page.get_by_role("button", name="Send").click()
    received = await frame_of(shopper, "message")
    assert (received["message"]["via"], received["message"]["text"]) == ("web", "Green bananas, please")
    await send_text(shopper, "emb-b1", "Will do!", "emb-s1")
    await expect(element(page, ".msg.from-shopper .msg-text")).to_have_text("Will do!", timeout=UI_TIMEOUT)
    await gateway.event("emb-b1", "staged")
    await expect(element(page, "#status-headline")).to_have_text("Ready", timeout=UI_TIMEOUT)
    switch = page.get_by_role("switch")
    await switch.click()  # a cross-origin PUT with the token: preflight and all
    await expect(element(page, "#sms-state")).to_have_text("Texts are on.", timeout=UI_TIMEOUT)
    stored = await gateway.http.get("/v1/orders/emb-b1", headers=auth(OPERATOR_KEY))
    assert stored.json()["sms"] == {"opt_in": True, "source": "customer"}
    await screenshot(page, "embed-staged-phone")
    await page.set_viewport_size(DESKTOP)
    await screenshot(page, "embed-staged-desktop")


async def test_element_on_a_last_mile_order_speaks_of_the_driver(shop, page):
    gateway = shop.gateway
    view = (await gateway.create_order("emb-b2", workflow="last_mile")).json()
    await gateway.event("emb-b2", "delivering", shopper={"id": "driver-1", "name": "Dana"})

    await open_embedded(page, shop.page_for("emb-b2", view["customer_token"]))

    await expect(element(page, "#shopper-line")).to_have_text("Your driver is Dana")
    await expect(element(page, ".chat-reason:visible")).to_have_text("Chat isn't offered for this order.")
    shadow = await page.locator("order-chat").evaluate_handle("host => host.shadowRoot")
    words = await shadow.evaluate(ALL_WORDS)
    assert "driver" in words and "shopper" not in words.lower(), words


async def test_element_with_a_bad_token_says_the_link_is_invalid(shop, page):
    await shop.gateway.create_order("emb-b3")

    await page.goto(shop.page_for("emb-b3", "not-a-token"))

    await expect(element(page, ".order-chat-note")).to_have_text(
        "This order link is invalid or has expired.", timeout=UI_TIMEOUT
    )


async def test_from_an_origin_not_allowed_the_element_does_not_load(shop, page):
    view = await shop.gateway.picking_order("emb-b4")
    elsewhere = shop.page_for("emb-b4", view["customer_token"]).replace("127.0.0.1", "localhost", 1)

    await page.goto(elsewhere)  # the same shop, but http://localhost:<port> is not listed

    outcome = await page.evaluate(
        "url => import(url).then(() => 'loaded', () => 'refused')", f"{shop.gateway.url}/embed.js"
    )
    assert outcome == "refused"
    assert await page.evaluate("customElements.get('order-chat') === undefined")
