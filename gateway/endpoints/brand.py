"""A retailer's brand on the Order Status page and the embedded element (contract sections 3
and 8): its `brand_color` as a small stylesheet (`GET /brand/{retailer}.css`, so the page's
CSP needs no inline styles) and its `logo_url`, whose origin the page's CSP allows."""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.endpoints.errors import ApiError
from gateway.settings import Retailer, Settings

DARK_INK = "#1d2330"  # the page's own ink colour (web/style.css --ink)
LIGHT_INK = "#ffffff"


def _retailer(settings: Settings, key: str) -> Retailer | None:
    return settings.retailers.get(key)


def brand_color(settings: Settings, retailer: str) -> str | None:
    """The retailer's accent colour as `#rrggbb` (start-up refused any other form), or None
    when it has none."""
    found = _retailer(settings, retailer)
    return found.brand_color.lower() if found and found.brand_color else None


def logo_url(settings: Settings, retailer: str) -> str | None:
    """The retailer's logo (an https URL: start-up refuses any other), or None."""
    found = _retailer(settings, retailer)
    return found.logo_url if found and found.logo_url else None


def logo_origin(settings: Settings, retailer: str) -> str | None:
    """The origin the page's CSP must allow for `img-src` so the logo loads."""
    url = logo_url(settings, retailer)
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def logo_html(settings: Settings, retailer: str, name: str) -> str:
    """The header's brand: the logo with the retailer's name as its alt text, or the name."""
    url = logo_url(settings, retailer)
    if url is None:
        return f'<span class="retailer-name">{html.escape(name)}</span>'
    return f'<img class="logo" src="{html.escape(url)}" alt="{html.escape(name)}">'


def _luminance(color: str) -> float:
    """Relative luminance (WCAG 2) of `#rrggbb`."""
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: float, b: float) -> float:
    light, dark = max(a, b), min(a, b)
    return (light + 0.05) / (dark + 0.05)


def accent_ink(color: str) -> str:
    """The text colour for buttons filled with `color`: white where it reads well (WCAG AA,
    4.5:1), else the page's dark ink, whichever contrasts more."""
    background = _luminance(color)
    white = _contrast(background, _luminance(LIGHT_INK))
    if white >= 4.5:
        return LIGHT_INK
    return LIGHT_INK if white >= _contrast(background, _luminance(DARK_INK)) else DARK_INK


def stylesheet(color: str) -> str:
    # :root for the page, :host for the element's shadow root; style.css derives the rest.
    return f":root, :host {{ --accent: {color}; --accent-ink: {accent_ink(color)}; }}\n"


def stylesheet_path(settings: Settings, retailer: str) -> str | None:
    """Where the page links the retailer's brand stylesheet, or None without a brand colour."""
    return f"/brand/{retailer}.css" if brand_color(settings, retailer) else None


class Brand:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def routes(self) -> list[BaseRoute]:
        return [Route("/brand/{retailer}.css", self.brand_css, methods=["GET"])]

    async def brand_css(self, request: Request) -> Response:
        retailer = request.path_params["retailer"]
        color = brand_color(self._settings, retailer)
        if color is None:
            raise ApiError(404, "not_found", f"no brand colour for retailer {retailer!r}")
        return Response(
            stylesheet(color),
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )
