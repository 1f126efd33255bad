"""A receipt's `reason` (contract section 6): why a shopper message was not texted, and the
provider's code when a text failed or was undelivered."""

from __future__ import annotations

import itertools

import pytest

from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Communications
from gateway.policy.receipt_reasons import NotSent, failure_reason, not_sent_reason
from gateway.policy.receipts import SMSState

IN = Consent(opt_in=True, source=ConsentSource.ORDER)
OFF = Consent(opt_in=False, source=ConsentSource.DEFAULT)
OFF_BY_CUSTOMER = Consent(opt_in=False, source=ConsentSource.CUSTOMER)
STOPPED = Consent(opt_in=False, source=ConsentSource.KEYWORD)
PLATFORM, RETAILER = Communications.PLATFORM, Communications.RETAILER


@pytest.mark.parametrize(
    ("communications", "consent", "has_phone", "keyword_blocked", "sender_blocked", "expected"),
    [
        (PLATFORM, IN, True, False, False, None),
        (PLATFORM, OFF, True, False, False, NotSent.NO_CONSENT),
        (PLATFORM, OFF_BY_CUSTOMER, True, False, False, NotSent.NO_CONSENT),
        (PLATFORM, STOPPED, True, False, False, NotSent.OPTED_OUT),
        (PLATFORM, IN, True, True, False, NotSent.OPTED_OUT),  # STOP landed after consent was read
        (PLATFORM, OFF, True, True, False, NotSent.OPTED_OUT),
        (PLATFORM, IN, True, False, True, NotSent.BLOCKED),
        (PLATFORM, OFF, True, False, True, NotSent.NO_CONSENT),  # never asked: consent says why
        (PLATFORM, IN, True, True, True, NotSent.OPTED_OUT),
        (PLATFORM, IN, False, False, False, NotSent.NO_PHONE),
        (PLATFORM, OFF, False, True, True, NotSent.NO_PHONE),
        (RETAILER, IN, True, False, False, NotSent.RETAILER_MODE),
        (RETAILER, STOPPED, False, True, True, NotSent.RETAILER_MODE),
    ],
)
def test_why_a_text_is_not_sent(communications, consent, has_phone, keyword_blocked, sender_blocked, expected):
    found = not_sent_reason(
        communications, consent, has_phone=has_phone, keyword_blocked=keyword_blocked, sender_blocked=sender_blocked
    )
    assert found is expected


@pytest.mark.parametrize(
    ("communications", "opt_in", "keyword_blocked", "sender_blocked"),
    list(itertools.product(Communications, [True, False], [True, False], [True, False])),
    ids=str,
)
def test_a_text_goes_only_in_platform_mode_opted_in_and_not_blocked(
    communications, opt_in, keyword_blocked, sender_blocked
):
    consent = Consent(opt_in=opt_in, source=ConsentSource.ORDER)
    may = not_sent_reason(
        communications, consent, keyword_blocked=keyword_blocked, sender_blocked=sender_blocked
    ) is None
    assert may is (communications is PLATFORM and opt_in and not keyword_blocked and not sender_blocked)


def test_the_reasons_are_the_contracts_words():
    assert {reason.value for reason in NotSent} == {"no_consent", "opted_out", "blocked", "retailer_mode", "no_phone"}


@pytest.mark.parametrize(
    ("state", "code", "expected"),
    [
        (SMSState.FAILED, 30003, "30003"),
        (SMSState.UNDELIVERED, 30005, "30005"),
        (SMSState.FAILED, None, None),
        (SMSState.UNDELIVERED, None, None),
        (SMSState.DELIVERED, 30003, None),
        (SMSState.SENT, None, None),
        (SMSState.QUEUED, 21610, None),
    ],
)
def test_a_failure_carries_the_providers_code_as_a_string(state, code, expected):
    assert failure_reason(state, code) == expected
