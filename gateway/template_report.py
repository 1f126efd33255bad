"""`gateway templates`: each retailer's status texts rendered with realistic values, with
their length, encoding and SMS segment count, so a retailer sees what a change costs."""

from __future__ import annotations

from gateway import templates
from gateway.policy import proposals
from gateway.policy.lifecycle import EVENT_NAMES, Communications
from gateway.settings import Retailer, Settings
from gateway.tokens import Tokens

SAMPLE_SHOPPER = "Alex"
SAMPLE_ORDER_ID = "ORDER-10428"
# A real customer token for the sample order, so the link is as long as a real one.
_SAMPLE_TOKEN = Tokens("sample").customer(SAMPLE_ORDER_ID, 1_700_000_000)


def report(settings: Settings, retailer: str | None = None) -> str:
    """The report for every retailer, or only `retailer` (its config key)."""
    if retailer is not None and retailer not in settings.retailers:
        known = ", ".join(settings.retailers) or "none configured"
        raise ValueError(f"expected a retailer key from the config ({known}), got {retailer!r}")
    keys = [retailer] if retailer is not None else list(settings.retailers)
    return "\n".join([*(_retailer_block(settings, key) for key in keys), _proposal_block()])


SAMPLE_PROPOSAL = ("Organic 2% milk", ["Organic whole milk", "Store 2% milk"])


def _proposal_block() -> str:
    """A replacement proposal as texted (contract section 11): the same wording for every
    retailer, with the shopper's name; shortened to two segments where it can be."""
    text = proposals.proposal_text(SAMPLE_SHOPPER, *SAMPLE_PROPOSAL)
    worst = proposals.worst_case_proposal()
    return "\n".join([
        "replacement proposals (every retailer in platform mode)",
        f"    | {text}",
        f"    {_cost(text)}",
        f"    worst case (longest name, item, three options and a note): {_cost(worst)}",
    ]) + "\n"


def sample_values(settings: Settings, retailer: Retailer) -> dict[str, str]:
    status_url = (
        f"{settings.gateway.public_base_url}/orders/{SAMPLE_ORDER_ID}?token={_SAMPLE_TOKEN}"
    )
    return {
        "retailer": retailer.name,
        "shopper": SAMPLE_SHOPPER,
        "status_url": status_url,
        "order_id": SAMPLE_ORDER_ID,
        "sender_number": settings.sms.numbers[0] if settings.sms.numbers else "",
        "support": retailer.support,
    }


def _retailer_block(settings: Settings, key: str) -> str:
    retailer = settings.retailers[key]
    lines = [f"retailer {key} ({retailer.name})"]
    if retailer.communications is Communications.RETAILER:
        lines.append(
            '  communications = "retailer": the gateway sends this retailer no texts; '
            "these templates are not used"
        )
    values = sample_values(settings, retailer)
    longest = templates.longest_values(retailer.name, settings.gateway.public_url, retailer.support)
    shown = 0
    for event in EVENT_NAMES:
        template = templates.template_for(event, retailer.templates, retailer.support)
        source = "override" if event in retailer.templates else "built-in"
        if event not in retailer.templates and not template:
            continue  # no built-in and no override: this event never sends a text
        shown += 1
        lines.append("")
        if not template:
            lines.append(f"  {event} (override): off, no text is sent")
            continue
        text = templates.render(template, values)
        worst = templates.render(template, longest)
        lines += [
            f"  {event} ({source})",
            *(f"    | {line}" for line in text.splitlines() or [""]),
            f"    {_cost(text)}",
            f"    worst case with the longest values: {_cost(worst)}",
        ]
    if not shown:
        lines.append("  no templates: this retailer's events send no texts")
    if retailer.communications is Communications.PLATFORM:
        reply = templates.help_reply(retailer.name, retailer.support)
        lines += ["", "  help (the reply to HELP or INFO)", f"    | {reply}", f"    {_cost(reply)}"]
        if not retailer.support:
            lines.append(f"    set retailers.{key}.support to tell customers how to reach you")
    return "\n".join(lines) + "\n"


def _cost(text: str) -> str:
    count = templates.segments(text)
    return (
        f"{len(text)} characters, {templates.encoding(text)}, "
        f"{count} SMS segment{'' if count == 1 else 's'}"
    )
