"""GET /orders/{id}?token=T as plain HTTP: the page is useful before any script runs, holds
only what its customer already has, and refuses links that are not for this order."""

from __future__ import annotations

import html
import json
import re

import pytest

from support.app_server import RETAILER_KEY, base_config, running_gateway

pytestmark = pytest.mark.e2e

INITIAL = re.compile(r'<script type="application/json" id="initial">(.*?)</script>', re.S)


async def test_page_renders_status_chat_reason_and_sms_switch(gateway):
    created = await gateway.create_order("page-1", sms_opt_in=True, customer={"phone": "+15551230101"})
    view = created.json()

    response = await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))

    assert response.status_code == 200
    page = response.text
    assert "Demo Grocer" in page
    assert "page-1" in page
    assert '<h1 id="status-headline" aria-live="polite">Order placed</h1>' in page
    assert re.search(r'data-reason="not_started">Chat opens when your shopper starts shopping.</p>', page)
    assert re.search(r'id="sms-opt-in" class="switch" checked', page)
    assert json.loads(INITIAL.search(page)[1]) == view
    assert "+15551230101" not in page and "5551230101" not in page


async def test_page_headers_keep_the_token_private(gateway):
    view = (await gateway.create_order("page-2")).json()

    response = await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))

    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_an_open_chat_has_an_enabled_composer_and_the_shoppers_name(gateway):
    view = await gateway.picking_order("page-3")

    page = (await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))).text

    assert '<h1 id="status-headline" aria-live="polite">Shopping</h1>' in page
    assert '<strong id="shopper-name">Alex</strong>' in page
    assert re.search(r'<textarea id="composer-text"[^>]*placeholder="Message your shopper">', page)
    assert all(
        f'data-reason="{state}" hidden' in page for state in ("not_started", "closed", "canceled", "unavailable")
    )


async def test_names_cannot_break_out_of_the_page(gateway):
    view = (await gateway.create_order("page-4")).json()
    hostile = "</script><script>alert(1)</script>"
    await gateway.event("page-4", "picking", shopper={"id": "shopper-1", "name": hostile})

    page = (await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))).text

    assert hostile not in page
    assert html.escape(hostile) in page
    assert json.loads(INITIAL.search(page)[1])["shopper"]["name"] == hostile


@pytest.mark.parametrize("which", ["garbage", "other order", "shopper token", "missing"])
async def test_a_link_not_for_this_order_is_refused(gateway, which):
    await gateway.create_order("page-5")
    await gateway.create_order("page-6", customer={"phone": "+15551230106"})
    tokens = gateway.services.tokens
    token = {
        "garbage": "not-a-token",
        "other order": tokens.customer("page-6", gateway.services.clock()),
        "shopper token": await gateway.shopper_token(),
        "missing": None,
    }[which]

    response = await gateway.http.get("/orders/page-5", params={"token": token} if token else None)

    assert response.status_code == 403
    assert "This link is invalid or has expired" in response.text


async def test_an_order_that_is_gone_is_not_found(gateway):
    token = gateway.services.tokens.customer("page-gone", gateway.services.clock())

    response = await gateway.http.get(f"/orders/page-gone?token={token}")

    assert response.status_code == 404
    assert "find this order" in response.text


async def test_page_script_and_styles_are_served(gateway):
    for path, kind in (("/static/order.js", "javascript"), ("/static/style.css", "css")):
        response = await gateway.http.get(path)
        assert response.status_code == 200
        assert kind in response.headers["content-type"]


async def test_last_mile_page_has_no_shopping_step_and_says_chat_is_unavailable(gateway):
    view = (await gateway.create_order("page-7", workflow="last_mile")).json()

    page = (await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))).text

    steps = re.findall(r'data-step="(\w+)"', page)
    assert steps == ["placed", "checkout", "staged", "delivering", "delivered", "canceled"]
    assert re.search(r'data-reason="unavailable">Chat isn&#x27;t offered for this order.</p>', page)


# --- branding (contract sections 3 and 8) -----------------------------------------------------

BRANDED = {"brand_color": "#7B1FA2", "logo_url": "https://cdn.example.com/brand/logo.png"}


async def page_of(gateway, order_id: str):
    view = (await gateway.create_order(order_id)).json()
    return await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))


async def test_a_branded_retailer_gets_its_colour_and_logo():
    config = base_config(retailers={"demo": {"name": "Demo Grocer", "api_key": RETAILER_KEY, **BRANDED}})
    async with running_gateway(config) as gateway:
        response = await page_of(gateway, "brand-1")
        css = await gateway.http.get("/brand/demo.css")

    page = response.text
    assert '<link rel="stylesheet" href="/brand/demo.css">' in page
    assert '<img class="logo" src="https://cdn.example.com/brand/logo.png" alt="Demo Grocer">' in page
    csp = response.headers["content-security-policy"]
    assert "img-src 'self' data: https://cdn.example.com;" in csp
    assert "style-src 'self';" in csp  # the colour comes in a stylesheet, not inline
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.text == ":root, :host { --accent: #7b1fa2; --accent-ink: #ffffff; }\n"


@pytest.mark.parametrize(
    ("color", "ink"),
    [("#ffd400", "#1d2330"), ("#0a7d4f", "#ffffff"), ("#000000", "#ffffff"), ("#FFFFFF", "#1d2330")],
)
async def test_button_text_on_the_brand_colour_stays_readable(color, ink):
    config = base_config(retailers={"demo": {"name": "Demo Grocer", "api_key": RETAILER_KEY, "brand_color": color}})
    async with running_gateway(config) as gateway:
        css = (await gateway.http.get("/brand/demo.css")).text

    assert f"--accent-ink: {ink};" in css


async def test_an_unbranded_retailer_gets_the_default_look(gateway):
    response = await page_of(gateway, "brand-2")
    css = await gateway.http.get("/brand/demo.css")

    assert "/brand/" not in response.text
    assert '<span class="retailer-name">Demo Grocer</span>' in response.text
    assert "img-src 'self' data:;" in response.headers["content-security-policy"]
    assert css.status_code == 404
    assert css.json()["error"]["code"] == "not_found"


# --- what the markup says at each status --------------------------------------------------------


async def test_a_canceled_order_page_says_canceled_not_complete(gateway):
    view = await gateway.picking_order("page-8")
    await gateway.event("page-8", "canceled")

    page = (await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))).text

    assert '<p class="chat-reason" data-reason="canceled">This order was canceled; chat is read-only.</p>' in page
    assert 'data-reason="closed" hidden' in page
    assert '<p class="sms-final" id="sms-final">' in page  # the switch is read-only, and says why


async def test_a_last_mile_page_names_the_driver_and_never_a_shopper(gateway):
    view = (await gateway.create_order("page-9", workflow="last_mile")).json()
    await gateway.event("page-9", "delivering", shopper={"id": "driver-1", "name": "Dana"})

    page = (await gateway.http.get(view["status_page_url"].removeprefix(gateway.url))).text
    shown = INITIAL.sub("", page)  # the view's JSON keeps the API's field name "shopper"

    words = re.sub(r"<[^>]+>", " ", shown) + " ".join(
        re.findall(r'(?:placeholder|aria-label|alt|title)="([^"]*)"', shown)
    )
    assert "Your driver is <strong" in shown
    assert '<h2 id="chat-title">Chat <span' in shown
    assert "driver" in words
    assert "shopper" not in words.lower()
