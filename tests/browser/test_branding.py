"""A retailer's brand on the page (contract sections 3 and 8): its colour on the page's accents
and its logo, loaded from the logo's own https origin under the page's CSP."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from support.app_server import RETAILER_KEY, base_config, running_gateway
from support.order_page import UI_TIMEOUT, new_order, open_order, screenshot
from support.serving import serving

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="180" height="36" viewBox="0 0 180 36">'
    '<rect width="36" height="36" rx="8" fill="#7b1fa2"/>'
    '<text x="46" y="25" font-family="sans-serif" font-size="18" font-weight="700" fill="#3b0a57">Plum Market</text>'
    "</svg>"
)


@pytest.fixture
async def logo_origin(tmp_path: Path) -> AsyncIterator[str]:
    """An https server (self-signed, for 127.0.0.1) serving /logo.svg: another origin."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )

    async def logo(request):
        return Response(LOGO, media_type="image/svg+xml")

    app = Starlette(routes=[Route("/logo.svg", logo)])
    async with serving(app, ssl_keyfile=str(key), ssl_certfile=str(cert)) as url:
        yield url.replace("http://", "https://", 1)


async def test_page_shows_the_retailers_colour_and_logo(pages, logo_origin):
    brand = {"brand_color": "#7b1fa2", "logo_url": f"{logo_origin}/logo.svg"}
    config = base_config(retailers={"demo": {"name": "Plum Market", "api_key": RETAILER_KEY, **brand}})
    async with running_gateway(config) as gateway:
        view = await gateway.picking_order("brand-b1")
        page = await pages.new(ignore_https_errors=True)
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)

        await open_order(page, view)

        logo = page.get_by_role("img", name="Plum Market")
        await expect(logo).to_be_visible()
        # Loaded, not refused: a refused image is complete with no width.
        await page.wait_for_function(
            "() => { const img = document.querySelector('img.logo'); return img.complete && img.naturalWidth > 0; }",
            timeout=UI_TIMEOUT,
        )
        send = page.get_by_role("button", name="Send")
        assert await send.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(123, 31, 162)"
        assert await send.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
        current = page.locator(".step.current:not([hidden]) .dot")
        assert await current.evaluate("d => getComputedStyle(d).backgroundColor") == "rgb(123, 31, 162)"
        assert refused == []
        await screenshot(page, "brand-picking-phone")


async def test_without_a_brand_the_page_keeps_its_own_green(gateway, page):
    view = await new_order(gateway, "brand-b2")

    await open_order(page, view)

    assert await page.locator(".retailer").inner_text() == "Demo Grocer"
    switch = page.get_by_role("switch")
    assert await switch.evaluate("s => getComputedStyle(s).backgroundColor") == "rgb(11, 122, 75)"
