"""Acting as Twilio towards a running gateway: webhook forms, signed with Twilio's own
RequestValidator over the gateway's public_url, and reading the TwiML it answers."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET

import httpx
from twilio.request_validator import RequestValidator

from support.app_server import RunningGateway

PHONE = "+15551230001"


def inbound_form(body: str, *, sender: str, phone: str = PHONE, sid: str | None = None, **extra) -> dict:
    sid = sid or "SM" + secrets.token_hex(16)
    return {
        "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32, "From": phone, "To": sender, "Body": body,
        "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
        "FromCity": "", "FromState": "", "FromZip": "", "FromCountry": "US",
        **extra,
    }


def status_form(sid: str, status: str, error_code: int | None = None) -> dict:
    form = {
        "MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32, "From": "+15005550006", "To": PHONE, "ApiVersion": "2010-04-01",
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form


async def post_signed(
    gateway: RunningGateway,
    path: str,
    form: dict,
    *,
    token: str | None = None,
    signed_url: str | None = None,
    host: str | None = None,
) -> httpx.Response:
    """POSTs `form` as Twilio would: signed over public_url + path with the auth token.
    `host` sets the Host header, as a proxy in front of the gateway may."""
    url = signed_url or gateway.settings.gateway.public_base_url + path
    signature = RequestValidator(token or gateway.settings.sms.twilio_auth_token).compute_signature(url, form)
    headers = {"X-Twilio-Signature": signature, **({"Host": host} if host else {})}
    return await gateway.http.post(path, data=form, headers=headers)


def twiml_messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return [message.text or "" for message in root.iter("Message")]
