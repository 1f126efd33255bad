"""Consent (contract section 5): the workflow's default, the STOP/START/HELP keywords, who may be
texted, and that only the customer's own START lifts a STOP."""

from __future__ import annotations

import pytest

from gateway.policy.consent import (
    Consent,
    ConsentRefused,
    ConsentSource,
    Keyword,
    classify_keyword,
    initial_consent,
    on_consent_request,
)
from gateway.policy.lifecycle import Workflow

STOP_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
START_WORDS = ["START", "YES", "UNSTOP"]
HELP_WORDS = ["HELP", "INFO"]
KEYWORDS = (
    [(word, Keyword.STOP) for word in STOP_WORDS]
    + [(word, Keyword.START) for word in START_WORDS]
    + [(word, Keyword.HELP) for word in HELP_WORDS]
)


def spellings(word: str) -> list[str]:
    """The ways a phone keyboard and a hurried customer spell one word."""
    mixed = "".join(c.lower() if i % 2 else c for i, c in enumerate(word))
    padded = [f"  {word.lower()}  ", f"\n{word}\t", f" {mixed}\r\n"]
    return [word, word.lower(), word.capitalize(), mixed, *padded]


@pytest.mark.parametrize(
    ("workflow", "sms_opt_in", "expected"),
    [
        (Workflow.DELIVERY, None, Consent(opt_in=False, source=ConsentSource.DEFAULT)),
        (Workflow.PICKUP, None, Consent(opt_in=False, source=ConsentSource.DEFAULT)),
        (Workflow.LAST_MILE, None, Consent(opt_in=True, source=ConsentSource.DEFAULT)),
        (Workflow.DELIVERY, True, Consent(opt_in=True, source=ConsentSource.ORDER)),
        (Workflow.PICKUP, True, Consent(opt_in=True, source=ConsentSource.ORDER)),
        (Workflow.LAST_MILE, True, Consent(opt_in=True, source=ConsentSource.ORDER)),
        (Workflow.DELIVERY, False, Consent(opt_in=False, source=ConsentSource.ORDER)),
        (Workflow.PICKUP, False, Consent(opt_in=False, source=ConsentSource.ORDER)),
        (Workflow.LAST_MILE, False, Consent(opt_in=False, source=ConsentSource.ORDER)),
    ],
)
def test_initial_consent(workflow, sms_opt_in, expected):
    assert initial_consent(workflow, sms_opt_in) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [(spelling, keyword) for word, keyword in KEYWORDS for spelling in spellings(word)],
)
def test_keyword_is_the_whole_trimmed_body_in_any_case(body, expected):
    assert classify_keyword(body) is expected


@pytest.mark.parametrize(
    "body",
    [
        "please stop by the door",
        "stop it",
        "Yes please",
        "help me find the door",
        "I want to cancel the bananas",
        "info?",
        "STOP!",
        "s t o p",
        "stopp",
        "the end",
        "",
        "   ",
        "ok",
    ],
)
def test_words_inside_a_sentence_are_chat_not_keywords(body):
    assert classify_keyword(body) is None


@pytest.mark.parametrize(
    ("body", "opt_out_type", "expected"),
    [
        ("please stop texting me", "STOP", Keyword.STOP),  # Twilio's Advanced Opt-Out matched it
        ("arrête", "STOP", Keyword.STOP),
        ("go on then", "START", Keyword.START),
        ("what is this", "HELP", Keyword.HELP),
        ("hello", "stop", Keyword.STOP),
        ("stop", None, Keyword.STOP),  # no OptOutType: the body decides
        ("stop", "", Keyword.STOP),
        ("hello", None, None),
        ("hello", "", None),
        ("stop", "SOMETHING_NEW", Keyword.STOP),  # an OptOutType we do not know: the body decides
        ("hello", "SOMETHING_NEW", None),
    ],
)
def test_twilio_opt_out_type_counts_as_the_keyword(body, opt_out_type, expected):
    assert classify_keyword(body, opt_out_type) is expected


@pytest.mark.parametrize("source", [ConsentSource.CUSTOMER, ConsentSource.SUPPORT])
@pytest.mark.parametrize("current_opt_in", [True, False])
def test_opting_in_is_refused_while_blocked_by_keyword(source, current_opt_in):
    current = Consent(opt_in=current_opt_in, source=ConsentSource.KEYWORD)
    refused = on_consent_request(current, opt_in=True, source=source, blocked_by_keyword=True)
    assert isinstance(refused, ConsentRefused)
    assert refused.code == "opted_out_by_keyword"
    assert "START" in refused.message  # tells support how the customer can lift it


@pytest.mark.parametrize(
    ("current", "opt_in", "source", "blocked"),
    [
        (Consent(True, ConsentSource.ORDER), False, ConsentSource.CUSTOMER, False),
        (Consent(True, ConsentSource.ORDER), False, ConsentSource.SUPPORT, False),
        (Consent(False, ConsentSource.KEYWORD), False, ConsentSource.CUSTOMER, True),
        (Consent(False, ConsentSource.KEYWORD), False, ConsentSource.SUPPORT, True),
        (Consent(False, ConsentSource.DEFAULT), True, ConsentSource.CUSTOMER, False),
        (Consent(False, ConsentSource.ORDER), True, ConsentSource.SUPPORT, False),
        (Consent(True, ConsentSource.DEFAULT), True, ConsentSource.CUSTOMER, False),
    ],
)
def test_consent_request_is_applied_with_its_source(current, opt_in, source, blocked):
    assert on_consent_request(current, opt_in, source, blocked) == Consent(opt_in=opt_in, source=source)
