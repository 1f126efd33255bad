"""Reading Twilio's webhooks and answering them: forms, signatures (checked against signatures
made by Twilio's own RequestValidator), the signed URL and TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from gateway.policy.receipts import SMSState
from gateway.sms.base import InboundMedia, InboundSMS, StatusReport
from gateway.sms.twilio import (
    state_of,
    is_valid_signature,
    parse_inbound,
    parse_status,
    signed_url,
    twiml,
)

TOKEN = "test-auth-token"
SID = "SM" + "ab" * 16
URL = "https://gateway.example/twilio/inbound"

INBOUND = {
    "MessageSid": SID,
    "SmsMessageSid": SID,
    "SmsSid": SID,
    "AccountSid": "AC" + "0" * 32,
    "From": "+15551230001",
    "To": "+15551230002",
    "Body": "Is the milk organic?",
    "NumMedia": "0",
    "NumSegments": "1",
    "SmsStatus": "received",
    "ApiVersion": "2010-04-01",
    "FromCity": "",
    "FromCountry": "US",
}


def without(form: dict[str, str], *names: str) -> dict[str, str]:
    return {key: value for key, value in form.items() if key not in names}


def sign(url: str, form, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


# parse_inbound -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        pytest.param(
            INBOUND,
            InboundSMS(sid=SID, phone="+15551230001", sender="+15551230002", body="Is the milk organic?"),
            id="sms",
        ),
        pytest.param(
            without(INBOUND, "MessageSid"),
            InboundSMS(sid=SID, phone="+15551230001", sender="+15551230002", body="Is the milk organic?"),
            id="only-SmsSid",
        ),
        pytest.param(
            {**INBOUND, "Body": "", "NumMedia": "1", "MediaUrl0": "https://media.example/a.jpg"},
            InboundSMS(
                sid=SID, phone="+15551230001", sender="+15551230002", body="",
                media=(InboundMedia(url="https://media.example/a.jpg"),),
            ),
            id="mms-without-text",
        ),
        pytest.param(
            {
                **INBOUND, "NumMedia": "2", "MediaUrl0": "https://api.example/m0", "MediaContentType0": "image/png",
                "MediaUrl1": "https://api.example/m1", "MediaContentType1": "image/jpeg",
                "MediaUrl2": "https://api.example/beyond-NumMedia",
            },
            InboundSMS(
                sid=SID, phone="+15551230001", sender="+15551230002", body="Is the milk organic?",
                media=(
                    InboundMedia(url="https://api.example/m0", content_type="image/png"),
                    InboundMedia(url="https://api.example/m1", content_type="image/jpeg"),
                ),
            ),
            id="mms-with-two-photos",
        ),
        pytest.param(
            without(INBOUND, "Body"),
            InboundSMS(sid=SID, phone="+15551230001", sender="+15551230002", body=""),
            id="no-Body-at-all",
        ),
        pytest.param(
            {**INBOUND, "Body": "Stop please", "OptOutType": "STOP"},
            InboundSMS(
                sid=SID, phone="+15551230001", sender="+15551230002", body="Stop please",
                opt_out_type="STOP",
            ),
            id="advanced-opt-out",
        ),
        pytest.param(
            {**INBOUND, "OptOutType": ""},
            InboundSMS(sid=SID, phone="+15551230001", sender="+15551230002", body="Is the milk organic?"),
            id="blank-OptOutType-is-none",
        ),
    ],
)
def test_inbound_form_becomes_an_inbound_sms(form, expected):
    assert parse_inbound(form) == expected


@pytest.mark.parametrize(
    ("form", "named"),
    [
        pytest.param(without(INBOUND, "MessageSid", "SmsSid"), "MessageSid", id="no-sid"),
        pytest.param({**INBOUND, "MessageSid": "", "SmsSid": ""}, "MessageSid", id="blank-sid"),
        pytest.param(without(INBOUND, "From"), "From", id="no-From"),
        pytest.param(without(INBOUND, "To"), "To", id="no-To"),
        pytest.param({**INBOUND, "NumMedia": "two"}, "NumMedia", id="NumMedia-not-a-number"),
    ],
)
def test_inbound_form_without_a_required_field_is_refused_naming_it(form, named):
    with pytest.raises(ValueError, match=rf"\b{named}\b"):
        parse_inbound(form)


# parse_status --------------------------------------------------------------------------------

STATUS = {
    "MessageSid": SID,
    "SmsSid": SID,
    "MessageStatus": "delivered",
    "SmsStatus": "delivered",
    "AccountSid": "AC" + "0" * 32,
    "From": "+15551230002",
    "To": "+15551230001",
    "ApiVersion": "2010-04-01",
}


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        pytest.param(STATUS, StatusReport(sid=SID, state=SMSState.DELIVERED), id="delivered"),
        pytest.param(
            {**STATUS, "MessageStatus": "undelivered", "ErrorCode": "30003"},
            StatusReport(sid=SID, state=SMSState.UNDELIVERED, error_code=30003),
            id="undelivered-with-code",
        ),
        pytest.param(
            {**STATUS, "MessageStatus": "failed", "ErrorCode": "21610"},
            StatusReport(sid=SID, state=SMSState.FAILED, sender_blocked=True, error_code=21610),
            id="failed-unsubscribed",
        ),
        pytest.param(
            {**STATUS, "ErrorCode": ""}, StatusReport(sid=SID, state=SMSState.DELIVERED), id="blank-ErrorCode"
        ),
        pytest.param(
            without({**STATUS, "SmsStatus": "sent"}, "MessageStatus", "MessageSid"),
            StatusReport(sid=SID, state=SMSState.SENT),
            id="legacy-Sms-names",
        ),
    ],
)
def test_status_callback_becomes_a_status_update(form, expected):
    assert parse_status(form) == expected


@pytest.mark.parametrize(
    ("form", "named"),
    [
        pytest.param(without(STATUS, "MessageSid", "SmsSid"), "MessageSid", id="no-sid"),
        pytest.param(without(STATUS, "MessageStatus", "SmsStatus"), "MessageStatus", id="no-status"),
        pytest.param({**STATUS, "ErrorCode": "oops"}, "ErrorCode", id="non-numeric-ErrorCode"),
    ],
)
def test_bad_status_callback_is_refused_naming_the_field(form, named):
    with pytest.raises(ValueError, match=rf"\b{named}\b"):
        parse_status(form)


# signed_url ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "query", "expected"),
    [
        ("https://gw.example", "/twilio/inbound", "", "https://gw.example/twilio/inbound"),
        ("https://gw.example/", "/twilio/inbound", "", "https://gw.example/twilio/inbound"),
        (
            "http://127.0.0.1:8000", "/twilio/status", "a=1&b=x%20y",
            "http://127.0.0.1:8000/twilio/status?a=1&b=x%20y",
        ),
        ("https://gw.example/prefix", "/twilio/status", "", "https://gw.example/prefix/twilio/status"),
    ],
)
def test_signed_url_is_the_public_url_plus_path_and_query(base, path, query, expected):
    assert signed_url(base, path, query) == expected


# is_valid_signature --------------------------------------------------------------------------

REPEATED = FormData(
    [*INBOUND.items(), ("MediaUrl0", "https://media.example/a.jpg"), ("Tag", "b"), ("Tag", "a")]
)
QUERY_URL = URL + "?retailer=demo&n=1"


@pytest.mark.parametrize(
    ("url", "form", "signature", "token", "valid"),
    [
        pytest.param(URL, INBOUND, sign(URL, INBOUND), TOKEN, True, id="twilio-signed"),
        pytest.param(
            URL, FormData(list(INBOUND.items())), sign(URL, INBOUND), TOKEN, True, id="as-form-data"
        ),
        pytest.param(URL, REPEATED, sign(URL, REPEATED), TOKEN, True, id="repeated-names"),
        pytest.param(
            URL, REPEATED, sign(URL, FormData([kv for kv in REPEATED.multi_items() if kv != ("Tag", "a")])),
            TOKEN, False, id="repeated-value-dropped",
        ),
        pytest.param(QUERY_URL, INBOUND, sign(QUERY_URL, INBOUND), TOKEN, True, id="query-string"),
        pytest.param(QUERY_URL, INBOUND, sign(URL, INBOUND), TOKEN, False, id="query-string-not-signed"),
        pytest.param(
            URL, {**INBOUND, "Body": "STOP"}, sign(URL, INBOUND), TOKEN, False, id="tampered-param"
        ),
        pytest.param(
            URL, {**INBOUND, "Extra": ""}, sign(URL, INBOUND), TOKEN, False, id="added-blank-param"
        ),
        pytest.param(
            "https://evil.example/twilio/inbound", INBOUND, sign(URL, INBOUND), TOKEN, False, id="other-host"
        ),
        pytest.param(URL, INBOUND, sign(URL, INBOUND, "other-token"), TOKEN, False, id="wrong-token"),
        pytest.param(URL, INBOUND, None, TOKEN, False, id="missing-header"),
        pytest.param(URL, INBOUND, "", TOKEN, False, id="empty-header"),
        pytest.param(URL, INBOUND, sign(URL, INBOUND, ""), "", False, id="no-token-configured"),
    ],
)
def test_only_twilio_signatures_over_this_url_and_form_are_valid(url, form, signature, token, valid):
    assert is_valid_signature(url, form, signature, token) is valid


# twiml ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param([], id="nothing"),
        pytest.param(["Reply STOP to stop texts."], id="one"),
        pytest.param(["Tom & Jerry's <Grocer>", 'quotes "here"'], id="xml-specials"),
    ],
)
def test_twiml_texts_back_each_reply(replies):
    document = twiml(replies)
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(document.encode())
    assert root.tag == "Response"
    assert [(child.tag, child.text) for child in root] == [("Message", reply) for reply in replies]


def test_twiml_drops_characters_xml_cannot_carry():
    root = ET.fromstring(twiml(["bell\x07 here"]).encode())
    assert [child.text for child in root] == ["bell here"]


@pytest.mark.parametrize(
    ("provider_status", "expected"),
    [
        ("accepted", "queued"),
        ("scheduled", "queued"),
        ("queued", "queued"),
        ("sending", "queued"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),  # a scheduled message canceled never reaches the phone
        ("Delivered", "delivered"),
        (" SENT ", "sent"),
        ("receiving", None),  # inbound states are not receipts
        ("received", None),
        ("", None),
        ("bogus", None),
    ],
)
def test_twilio_statuses_in_the_contracts_words(provider_status, expected):
    assert state_of(provider_status) == expected
