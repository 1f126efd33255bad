"""Status notification texts: built-in templates, placeholders, rendering, SMS segments."""

from __future__ import annotations

import string

PLACEHOLDERS = ("retailer", "shopper", "status_url", "order_id", "sender_number", "support")
MAX_SMS = 1600  # Twilio's limit for one message body

BUILTIN = {
    "picking": "{shopper} is shopping your {retailer} order. Reply here to chat, or open {status_url}",
    "staged": "Your {retailer} order is ready. Details: {status_url}",
    "delivering": "{shopper} is on the way with your {retailer} order. Track it: {status_url}",
    "delivered": "Your {retailer} order was delivered. Thank you!",
    "canceled": "Your {retailer} order {order_id} was canceled.",
}
# Built-ins that point to the retailer's support contact, used when the retailer has one: a
# text never sends a customer to HELP (or anywhere) that has no contact to give.
BUILTIN_WITH_SUPPORT = {
    "canceled": "Your {retailer} order {order_id} was canceled. Questions? {support}",
}

HELP_TEXT = (
    "{retailer}: texts about your order and chat with your shopper. "
    "Reply STOP to stop texts, START to resume. Msg & data rates may apply."
)
HELP_SUPPORT = " Help: {support}"
POLITE_REPLIES = {
    "not_started": "Thanks! Your shopper hasn't started yet. You can chat here once they start shopping.",
    "closed": "The chat for this order is closed.",
    "unavailable": "Replies to this number aren't monitored.",
}
POLITE_CONTACT = " For help, contact {retailer}."
POLITE_SUPPORT = " For help, contact {retailer}: {support}"
SHOPPER_FALLBACK = "Your shopper"

# Longest values a placeholder can take, for the start-up length check.
LONGEST = {
    "shopper": "W" * 64,
    "order_id": "W" * 128,
    "sender_number": "+" + "9" * 15,
}
TOKEN_MAX = 210  # characters of a customer token for a 128-character order id


def problem(template: str) -> str | None:
    """What is wrong with a template, or None."""
    try:
        for _, field, spec, conversion in string.Formatter().parse(template):
            if field is None:
                continue
            if field not in PLACEHOLDERS:
                return f"unknown placeholder {{{field}}} (expected one of " + ", ".join(
                    "{" + p + "}" for p in PLACEHOLDERS
                ) + ")"
            if spec or conversion:
                return f"placeholder {{{field}}} takes no format spec or conversion"
    except ValueError as exc:
        return f"malformed template: {exc}"
    return None


def placeholders_in(template: str) -> set[str]:
    """The placeholders a well-formed template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def template_for(event: str, overrides: dict[str, str], support: str = "") -> str:
    """The retailer's override wins; "" turns the notification off; events without a built-in
    template send nothing unless the retailer sets one. `support` is the retailer's contact."""
    if event in overrides:
        return overrides[event]
    if support and event in BUILTIN_WITH_SUPPORT:
        return BUILTIN_WITH_SUPPORT[event]
    return BUILTIN.get(event, "")


def help_reply(retailer: str, support: str) -> str:
    """The answer to HELP or INFO (contract section 5): who texts, what the texts are, how to
    stop them, and the retailer's support contact when it has one."""
    return render(HELP_TEXT + (HELP_SUPPORT if support else ""), {"retailer": retailer, "support": support})


def polite_reply(chat_state: str, retailer: str, support: str) -> str:
    """The one reply to a text that cannot join the chat, by the order's chat state."""
    template = POLITE_REPLIES[chat_state]
    if chat_state != "not_started":  # a chat that will open needs no other way in
        template += POLITE_SUPPORT if support else POLITE_CONTACT
    return render(template, {"retailer": retailer, "support": support})


def render(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


def longest_values(retailer_name: str, public_url: str, support: str = "") -> dict[str, str]:
    status_url = f"{public_url.rstrip('/')}/orders/{'W' * 128}?token={'W' * TOKEN_MAX}"
    return {**LONGEST, "retailer": retailer_name, "status_url": status_url, "support": support}


# --- segments ---------------------------------------------------------------------------

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def encoding(text: str) -> str:
    """"GSM-7" when every character is in the GSM 03.38 alphabet, else "UCS-2"."""
    return "GSM-7" if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text) else "UCS-2"


def segments(text: str) -> int:
    """SMS segments a text is billed as: GSM-7 160 (153 when split; extension characters
    count twice), UCS-2 70 (67 when split; counted in UTF-16 units)."""
    if encoding(text) == "GSM-7":
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)
