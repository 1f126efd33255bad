"""SMS encoding and segment counts, and the `gateway templates` report built on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import templates
from gateway.policy.chat import Role
from gateway.settings import Settings, load
from gateway.template_report import report
from gateway.tokens import Tokens


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),  # 2 x 153
        ("a" * 307, "GSM-7", 3),
        ("Grüße à Zoé", "GSM-7", 1),  # accented letters of the GSM alphabet
        ("Zoë", "UCS-2", 1),  # ë is not one of them
        ("€" * 80, "GSM-7", 1),  # extension characters count double: 160 units
        ("€" * 81, "GSM-7", 2),
        ("{" * 80, "GSM-7", 1),
        ("{" * 80 + "a", "GSM-7", 2),  # 161 units
        ("é" * 70 + "ç", "UCS-2", 2),  # ç is not GSM-7 (only Ç is)
        ("😀", "UCS-2", 1),  # one emoji is two UTF-16 units
        ("😀" * 35, "UCS-2", 1),  # 70 units
        ("😀" * 35 + "a", "UCS-2", 2),  # 71 units: split into 67-unit parts
        ("a" * 134 + "😀", "UCS-2", 3),  # 136 units: over 2 x 67
        ("a" * 132 + "😀", "UCS-2", 2),  # 134 units: exactly 2 x 67
    ],
)
def test_encoding_and_segments(text, encoding, segments):
    assert templates.encoding(text) == encoding
    assert templates.segments(text) == segments


CONFIG = """
[gateway]
public_url = "https://gw.example.com/"
secret = "s"
operator_key = "op"

[sms]
numbers = ["+15005550006", "+15005550007"]

[retailers.demo]
name = "Demo Grocer"
api_key = "k1"

[retailers.demo.templates]
delivered = ""
rescheduled = "{retailer}: your order moved 🎉 Text {sender_number} or see {status_url}"
canceled = "{retailer} canceled order {order_id}. Sorry, {shopper}!"

[retailers.own]
name = "Own Comms"
api_key = "k2"
communications = "retailer"
callback_url = "https://own.example/callbacks"
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load(path, {})[0]


def block(text: str, event: str) -> list[str]:
    """The lines of one event's block in a report."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{event} ("))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return [line.strip() for line in lines[start:end]]


def test_report_renders_builtin_templates_with_sample_values(settings):
    lines = block(report(settings, "demo"), "picking")
    assert lines[0] == "picking (built-in)"
    text = lines[1].removeprefix("| ")
    assert text.startswith("Alex is shopping your Demo Grocer order. Reply here to chat, or open ")
    assert "https://gw.example.com/orders/ORDER-10428?token=" in text
    assert lines[2] == f"{len(text)} characters, GSM-7, {templates.segments(text)} SMS segments"


def test_report_shows_the_worst_case_with_the_longest_values(settings):
    lines = block(report(settings, "demo"), "delivering")
    worst = templates.render(
        templates.BUILTIN["delivering"],
        templates.longest_values("Demo Grocer", "https://gw.example.com/"),
    )
    assert lines[3] == (
        f"worst case with the longest values: {len(worst)} characters, GSM-7, "
        f"{templates.segments(worst)} SMS segments"
    )


def test_status_link_is_as_long_as_a_real_one(settings):
    text = block(report(settings, "demo"), "staged")[1]
    token = text.rpartition("?token=")[2]
    # A real customer token (so the length shown is what customers get), not a placeholder.
    assert Tokens("sample").verify(token, Role.CUSTOMER, 1_700_000_000) == "ORDER-10428"


def test_overrides_are_rendered_and_marked(settings):
    lines = block(report(settings, "demo"), "canceled")
    assert lines[:2] == ["canceled (override)", "| Demo Grocer canceled order ORDER-10428. Sorry, Alex!"]
    assert lines[2] == "52 characters, GSM-7, 1 SMS segment"


def test_an_emoji_makes_a_text_ucs2(settings):
    lines = block(report(settings, "demo"), "rescheduled")
    text = lines[1].removeprefix("| ")
    assert "Text +15005550006 or see" in text  # the first pool number
    assert lines[2] == f"{len(text)} characters, UCS-2, {templates.segments(text)} SMS segments"
    assert templates.segments(text) >= 3


def test_a_template_turned_off_says_so(settings):
    assert block(report(settings, "demo"), "delivered") == ["delivered (override): off, no text is sent"]


def test_events_without_any_template_are_left_out(settings):
    text = report(settings, "demo")
    assert "brand_new" not in text
    assert "checkout" not in text


def test_report_covers_every_retailer_unless_one_is_named(settings):
    everyone = report(settings)
    assert "retailer demo (Demo Grocer)" in everyone
    assert "retailer own (Own Comms)" in everyone
    only = report(settings, "own")
    assert "retailer demo" not in only
    assert 'communications = "retailer": the gateway sends this retailer no texts' in only


def test_unknown_retailer_is_named_in_the_error(settings):
    with pytest.raises(ValueError, match="expected a retailer key from the config \\(demo, own\\), got 'nope'"):
        report(settings, "nope")


def test_report_shows_the_help_reply_and_asks_for_a_support_contact(settings):
    lines = block(report(settings, "demo"), "help")
    assert lines[1] == "| " + templates.help_reply("Demo Grocer", "")
    assert "set retailers.demo.support" in lines[3]


def test_help_reply_in_the_report_carries_the_support_contact(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_text('[retailers.fresh]\nname = "Fresh Mart"\nsupport = "call 1-800-555-0100"\n')
    lines = block(report(load(path, {})[0], "fresh"), "help")
    assert lines[1].endswith("call 1-800-555-0100")
    assert not any("set retailers" in line for line in lines)
    canceled = block(report(load(path, {})[0], "fresh"), "canceled")
    assert canceled[1] == "| Your Fresh Mart order ORDER-10428 was canceled. Questions? call 1-800-555-0100"


def test_a_retailer_that_texts_its_own_customers_has_no_help_reply(settings):
    assert "help (" not in report(settings, "own")
