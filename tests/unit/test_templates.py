"""The texts the gateway writes itself (contract section 5): the HELP reply, the built-in
canceled text and the polite replies, with and without a retailer's support contact."""

from __future__ import annotations

import pytest

from gateway import templates

SUPPORT = "call 1-800-555-0100 or example.com/help"


@pytest.mark.parametrize("support", ["", SUPPORT])
def test_help_reply_names_the_retailer_says_what_the_texts_are_and_how_to_stop(support):
    reply = templates.help_reply("Demo Grocer", support)
    assert reply.startswith("Demo Grocer: ")
    assert "texts about your order" in reply and "chat with your shopper" in reply
    assert "Reply STOP to stop texts" in reply
    assert "HELP" not in reply  # never sends the customer back to where they are


def test_help_reply_gives_the_support_contact_when_set():
    assert templates.help_reply("Demo Grocer", SUPPORT).endswith(f"Help: {SUPPORT}")
    assert "Help:" not in templates.help_reply("Demo Grocer", "")


@pytest.mark.parametrize("support", ["", SUPPORT])
def test_help_reply_fits_one_segment_with_a_short_contact(support):
    assert templates.segments(templates.help_reply("Demo Grocer", support)) <= 2


@pytest.mark.parametrize(
    ("support", "expected"),
    [
        ("", "Your Demo Grocer order o1 was canceled."),
        (SUPPORT, f"Your Demo Grocer order o1 was canceled. Questions? {SUPPORT}"),
    ],
)
def test_builtin_canceled_text_points_to_support_only_when_there_is_one(support, expected):
    template = templates.template_for("canceled", {}, support)
    values = {"retailer": "Demo Grocer", "order_id": "o1", "support": support}
    text = templates.render(template, values)
    assert text == expected
    assert "HELP" not in text  # HELP could not give a contact the retailer never set


def test_override_wins_over_the_builtin_with_support():
    assert templates.template_for("canceled", {"canceled": "Sorry: {support}"}, SUPPORT) == "Sorry: {support}"
    assert templates.template_for("canceled", {"canceled": ""}, SUPPORT) == ""


@pytest.mark.parametrize(
    ("state", "support", "expected"),
    [
        ("not_started", "", templates.POLITE_REPLIES["not_started"]),
        ("not_started", SUPPORT, templates.POLITE_REPLIES["not_started"]),
        ("closed", "", "The chat for this order is closed. For help, contact Demo Grocer."),
        ("closed", SUPPORT, f"The chat for this order is closed. For help, contact Demo Grocer: {SUPPORT}"),
        ("unavailable", "", "Replies to this number aren't monitored. For help, contact Demo Grocer."),
        ("unavailable", SUPPORT, f"Replies to this number aren't monitored. For help, contact Demo Grocer: {SUPPORT}"),
    ],
)
def test_polite_reply(state, support, expected):
    assert templates.polite_reply(state, "Demo Grocer", support) == expected


@pytest.mark.parametrize("state", ["closed", "unavailable"])
def test_a_closed_chat_is_never_called_complete(state):
    # A canceled order's chat is closed too.
    assert "complete" not in templates.polite_reply(state, "Demo Grocer", "")


def test_support_is_a_placeholder():
    assert templates.problem("Questions? {support}") is None
    assert templates.placeholders_in("{retailer}: {support} {{x}}") == {"retailer", "support"}
    assert "{support}" in templates.problem("{nope}")  # listed among the expected ones
