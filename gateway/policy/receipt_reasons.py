"""Why a shopper message's text was not sent, or did not arrive: the `reason` of a `receipt`
frame (contract section 6). Pure, so the worker and the chat log's callers agree."""

from __future__ import annotations

from enum import StrEnum

from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Communications
from gateway.policy.receipts import SMSState


class NotSent(StrEnum):
    """Why the gateway did not text a customer (a `not_sent` receipt's reason)."""

    RETAILER_MODE = "retailer_mode"  # the retailer messages its customers itself
    NO_PHONE = "no_phone"  # the order has no number to text
    OPTED_OUT = "opted_out"  # the customer texted STOP (the keyword block, or consent by keyword)
    NO_CONSENT = "no_consent"  # the order is not opted in
    BLOCKED = "blocked"  # the carrier refuses this sender for this phone (Twilio 21610)


def not_sent_reason(
    communications: Communications,
    consent: Consent,
    *,
    has_phone: bool = True,
    keyword_blocked: bool = False,
    sender_blocked: bool = False,
) -> NotSent | None:
    """Why a text may not go to this customer right now; None when it may. The first reason
    that applies wins, in the order of the enum: the broadest first."""
    if communications is not Communications.PLATFORM:
        return NotSent.RETAILER_MODE
    if not has_phone:
        return NotSent.NO_PHONE
    if keyword_blocked or (not consent.opt_in and consent.source is ConsentSource.KEYWORD):
        return NotSent.OPTED_OUT
    if not consent.opt_in:
        return NotSent.NO_CONSENT
    if sender_blocked:
        return NotSent.BLOCKED
    return None


def failure_reason(state: SMSState, provider_code: int | None) -> str | None:
    """The reason a `failed` or `undelivered` receipt carries: the provider's error code, as a
    string; none for any other state, or when the provider gave no code."""
    if state not in (SMSState.FAILED, SMSState.UNDELIVERED) or provider_code is None:
        return None
    return str(provider_code)
