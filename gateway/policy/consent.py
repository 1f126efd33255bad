"""Consent rules: who may be texted, what a keyword means, who may change consent."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from gateway.policy.lifecycle import Workflow


class ConsentSource(StrEnum):
    ORDER = "order"  # sms_opt_in sent with the order
    DEFAULT = "default"  # absent from the order: the workflow's default
    CUSTOMER = "customer"  # the Order Status page's switch
    SUPPORT = "support"  # customer experience, with the operator key
    KEYWORD = "keyword"  # STOP / START texted by the customer


class Consent(msgspec.Struct, frozen=True):
    opt_in: bool
    source: ConsentSource


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


_KEYWORDS = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), Keyword.STOP
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), Keyword.START),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}


def initial_consent(workflow: Workflow, sms_opt_in: bool | None) -> Consent:
    """Consent at order creation. Absent, delivery and pickup are off; last mile is on, since
    the customer consented by asking for last-mile delivery."""
    if sms_opt_in is not None:
        return Consent(opt_in=sms_opt_in, source=ConsentSource.ORDER)
    return Consent(opt_in=workflow is Workflow.LAST_MILE, source=ConsentSource.DEFAULT)


def classify_keyword(body: str, opt_out_type: str | None = None) -> Keyword | None:
    """The keyword a text is, if any: the whole body, trimmed, in any case. Twilio's
    OptOutType (Advanced Opt-Out) counts the same as the word itself."""
    if opt_out_type:
        found = _KEYWORDS.get(opt_out_type.strip().upper())
        if found is not None:
            return found
    return _KEYWORDS.get(body.strip().upper())


class ConsentRefused(msgspec.Struct, frozen=True):
    code: str
    message: str


def on_consent_request(
    current: Consent, opt_in: bool, source: ConsentSource, blocked_by_keyword: bool
) -> Consent | ConsentRefused:
    """A customer (page switch) or support asks to turn texts on or off. Opting in is refused
    while the phone is blocked by STOP: only the customer's own START lifts that."""
    if opt_in and blocked_by_keyword:
        return ConsentRefused(
            code="opted_out_by_keyword",
            message="the customer texted STOP; texts resume only when they text START",
        )
    return Consent(opt_in=opt_in, source=source)
