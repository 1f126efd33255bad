"""The Order Status page (contract section 8): `GET /orders/{id}?token=T`, rendered on the
server with everything a customer needs before any script runs, and the static files under
/static that bring it to life (web/order.js)."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

import gateway.web
from gateway.endpoints import brand
from gateway.policy.chat import Role
from gateway.settings import Settings
from gateway.store.records import OrderRecord

if TYPE_CHECKING:
    from gateway.services import Services

WEB_DIR = Path(gateway.web.__file__).resolve().parent  # top-level web/, shipped in the wheel

# The timeline of each workflow: (step, label, statuses that put the order at that step).
# The page's script reads these from the markup, so they are written down only here.
_PLACED = ("placed", "Order placed", ("brand_new", "acknowledged"))
_SHOPPING = ("picking", "Shopping", ("picking",))
_CHECKOUT = ("checkout", "Checkout", ("checkout",))
STEPS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "delivery": (
        _PLACED, _SHOPPING, _CHECKOUT,
        ("staged", "Ready", ("staged",)),
        ("delivering", "On the way", ("delivering",)),
        ("delivered", "Delivered", ("delivered",)),
    ),
    "pickup": (
        _PLACED, _SHOPPING, _CHECKOUT,
        ("staged", "Ready for pickup", ("staged", "delivering")),
        ("delivered", "Picked up", ("delivered",)),
    ),
    "last_mile": (
        _PLACED, _CHECKOUT,
        ("staged", "Ready", ("staged",)),
        ("delivering", "On the way", ("delivering",)),
        ("delivered", "Delivered", ("delivered",)),
    ),
}
CANCELED_LABEL = "Canceled"

FINAL_STATUSES = ("delivered", "canceled")

# Why chat is not open, by reason_key(); "closed" is a delivered (or picked up) order.
CHAT_REASONS = {
    "not_started": "Chat opens when your shopper starts shopping.",
    "closed": "This order is complete; chat is read-only.",
    "canceled": "This order was canceled; chat is read-only.",
    "unavailable": "Chat isn't offered for this order.",
}


def reason_key(status: str, chat: str) -> str:
    """Which CHAT_REASONS line a page shows (web/orderchat.js decides the same way)."""
    return "canceled" if chat == "closed" and status == "canceled" else chat


def person(workflow: str) -> str:
    """What the page calls the person named in events: a last_mile order's is its driver."""
    return "driver" if workflow == "last_mile" else "shopper"


# The page carries a customer token in its URL: it must not leak through a Referer, be
# cached by a shared cache, or be framed.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{logo}; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _headers(settings: Settings, retailer: str) -> dict[str, str]:
    logo = brand.logo_origin(settings, retailer)
    return {**_HEADERS, "Content-Security-Policy": _CSP.format(logo=f" {logo}" if logo else "")}


@functools.cache
def _template(name: str) -> str:
    return (WEB_DIR / name).read_text(encoding="utf-8")


_SLOT = re.compile(r"\{\{(\w+)\}\}")


def _fill(template: str, values: dict[str, str]) -> str:
    """Replaces each `{{key}}` with its value (HTML already), in one pass, so a value that
    happens to contain `{{...}}` is left as it is."""
    return _SLOT.sub(lambda match: values[match[1]], template)


def _json_for_script(value: object) -> str:
    # In JSON, "<" only occurs inside strings, where \u003c means the same; escaping it
    # keeps "</script>" and "<!--" in a message from ending the script element.
    return msgspec.json.encode(value).decode().replace("<", "\\u003c")


def _error_page(status_code: int, title: str, detail: str) -> HTMLResponse:
    body = _fill(
        _template("error.html"), {"title": html.escape(title), "detail": html.escape(detail)}
    )
    headers = {**_HEADERS, "Content-Security-Policy": _CSP.format(logo="")}
    return HTMLResponse(body, status_code=status_code, headers=headers)


def _timeline(workflow: str, status: str) -> str:
    steps = STEPS.get(workflow, STEPS["delivery"])
    current = next((i for i, (_, _, statuses) in enumerate(steps) if status in statuses), -1)
    items = []
    for index, (step, label, statuses) in enumerate(steps):
        if status == "canceled":
            state = "done" if index == 0 else "skipped"  # it was placed, then canceled
        elif index < current:
            state = "done"
        elif index == current:
            state = "current"
        else:
            state = "todo"
        aria = ' aria-current="step"' if state == "current" else ""
        items.append(
            f'<li class="step {state}" data-step="{html.escape(step)}" '
            f'data-statuses="{html.escape(" ".join(statuses))}"{aria}>'
            f'<span class="dot" aria-hidden="true"></span>'
            f'<span class="label">{html.escape(label)}</span></li>'
        )
    hidden = "" if status == "canceled" else " hidden"
    items.append(
        f'<li class="step canceled current" data-step="canceled" data-statuses="canceled" aria-current="step"{hidden}>'
        f'<span class="dot" aria-hidden="true"></span>'
        f'<span class="label">{CANCELED_LABEL}</span></li>'
    )
    return "\n".join(items)


def headline(workflow: str, status: str) -> str:
    """The label of the step the order is at, e.g. "Shopping"."""
    if status == "canceled":
        return CANCELED_LABEL
    for _, label, statuses in STEPS.get(workflow, STEPS["delivery"]):
        if status in statuses:
            return label
    return status.replace("_", " ").capitalize()


def _chat_reasons(status: str, chat: str) -> str:
    shown = reason_key(status, chat)
    # Chat not offered (last_mile, retailer mode) stays so: its order never meets the others,
    # which speak of a shopper.
    keys = ["unavailable"] if chat == "unavailable" else list(CHAT_REASONS)
    return "\n".join(
        f'<p class="chat-reason" data-reason="{key}"{"" if key == shown else " hidden"}>'
        f"{html.escape(CHAT_REASONS[key])}</p>"
        for key in keys
    )


def stylesheets(settings: Settings, retailer: str) -> str:
    """The page's stylesheet links (the element makes them absolute to the gateway)."""
    paths = ["/static/style.css", brand.stylesheet_path(settings, retailer)]
    return "\n".join(f'<link rel="stylesheet" href="{path}">' for path in paths if path)


def render_body(services: Services, record: OrderRecord) -> str:
    """What the page and the embedded element show for one order, as an HTML fragment."""
    settings = services.settings
    view = services.orders.view(record)
    retailer_name = settings.retailer_name(record.retailer)
    shopper = view.shopper.name if view.shopper is not None else ""
    stopped = not view.sms.opt_in and view.sms.source == "keyword"
    who = person(view.workflow)
    offered = view.chat != "unavailable"
    return _fill(
        _template("order-body.html"),
        {
            "brand": brand.logo_html(settings, record.retailer, retailer_name),
            "order_id": html.escape(view.id),
            "workflow": html.escape(view.workflow),
            "status": html.escape(view.status),
            "person": who,
            "headline": html.escape(headline(view.workflow, view.status)),
            "shopper": html.escape(shopper),
            "shopper_hidden": "" if shopper else " hidden",
            "timeline": _timeline(view.workflow, view.status),
            "chat": html.escape(view.chat),
            "chat_title": f"Chat with your {who}" if offered else "Chat",
            "chat_reasons": _chat_reasons(view.status, view.chat),
            "chat_live_hidden": "" if offered else " hidden",
            "composer_disabled": "" if view.chat == "open" else " disabled",
            "sms_label": f"Send me order updates{f' and {who} messages' if offered else ''} by text",
            "sms_checked": " checked" if view.sms.opt_in else "",
            "sms_state": "on" if view.sms.opt_in else "off",
            "final_hidden": "" if view.status in FINAL_STATUSES else " hidden",
            "sender": html.escape(record.sender),
            "stop_hidden": "" if stopped else " hidden",
            "noscript_chat": f" and chat with your {who}" if offered else "",
            "initial": _json_for_script(view),
        },
    )


def render(services: Services, record: OrderRecord) -> str:
    """The page for one order, as HTML."""
    settings = services.settings
    return _fill(
        _template("order.html"),
        {
            "retailer": html.escape(settings.retailer_name(record.retailer)),
            "stylesheets": stylesheets(settings, record.retailer),
            "body": render_body(services, record),
        },
    )


class Pages:
    def __init__(self, services: Services) -> None:
        self._services = services

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/orders/{order_id}", self.order_page, methods=["GET"]),
            Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
        ]

    async def order_page(self, request: Request) -> HTMLResponse:
        services = self._services
        order_id = request.path_params["order_id"]
        token = request.query_params.get("token", "")
        if services.tokens.subject(token, Role.CUSTOMER, services.clock()) != order_id:
            return _error_page(
                403,
                "This link is invalid or has expired",
                "Open the latest link from your order texts or emails to see this order.",
            )
        record = await services.store.get_order(order_id)
        if record is None:
            return _error_page(
                404,
                "We couldn't find this order",
                "It may have been completed a while ago and no longer be kept.",
            )
        return HTMLResponse(render(services, record), headers=_headers(services.settings, record.retailer))
