"""Twilio: TwilioTransport sends texts through the Messages API; plain functions read Twilio's
webhooks (inbound texts, status callbacks), check their signatures and write TwiML answers."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from xml.sax.saxutils import escape

import httpx
import msgspec
from twilio.request_validator import RequestValidator

from gateway.phones import mask
from gateway.policy.receipts import SMSState
from gateway.sms.base import InboundMedia, InboundSMS, OutboundSMS, Sent, SendFailed, StatusReport

log = logging.getLogger("gateway.sms")

API_VERSION = "2010-04-01"
TIMEOUT = httpx.Timeout(10.0)
UNSUBSCRIBED = 21610  # the recipient has opted out of this sender (texted STOP to it)

# Twilio's MessageStatus in the contract's vocabulary; others (e.g. "receiving") are not reported.
_STATES = {
    "accepted": SMSState.QUEUED,
    "scheduled": SMSState.QUEUED,
    "sending": SMSState.QUEUED,
    "queued": SMSState.QUEUED,
    "sent": SMSState.SENT,
    "delivered": SMSState.DELIVERED,
    "undelivered": SMSState.UNDELIVERED,
    "failed": SMSState.FAILED,
    "canceled": SMSState.FAILED,
}


def state_of(status: str) -> SMSState | None:
    """A Twilio MessageStatus in the contract's words (None: not one the gateway reports)."""
    return _STATES.get(status.strip().lower())


class _Created(msgspec.Struct):
    """The part of Twilio's Message resource a send needs."""

    sid: str
    status: str


class _Error(msgspec.Struct):
    """Twilio's error body: {"code": 21610, "message": "...", "more_info": "...", "status": 400}."""

    code: int | None = None
    message: str = ""


class TwilioTransport:
    """Sends texts with Twilio's Messages API (form-encoded POST, HTTP Basic auth).

    One attempt per `send`: a failure raises `SendFailed`, `retryable` for 429, 5xx and network
    errors, and the caller (the durable job queue) retries with backoff. Numbers and bodies are
    never logged."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base: str,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = f"{api_base.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._http = http
        self._owns_http = http is None

    async def start(self) -> None:
        if self._http is None:
            # trust_env=False: an HTTP(S)_PROXY meant for something else must not carry our texts.
            self._http = httpx.AsyncClient(trust_env=False, timeout=TIMEOUT)

    async def close(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, message: OutboundSMS) -> Sent:
        if self._http is None:
            raise RuntimeError("TwilioTransport.send() called before start()")
        form: dict[str, str | list[str]] = {"To": message.to, "From": message.sender}
        if message.body or not message.media_urls:
            form["Body"] = message.body  # a photo alone goes without one
        if message.media_urls:
            form["MediaUrl"] = list(message.media_urls)  # repeated: one per photo
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        try:
            response = await self._http.post(self._url, data=form, auth=self._auth)
        except httpx.TransportError as exc:
            log.warning("text to %s: Twilio unreachable (%s)", mask(message.to), type(exc).__name__)
            raise SendFailed(
                f"expected an answer from Twilio, but the request failed: {type(exc).__name__}",
                retryable=True,
            ) from exc
        if response.status_code in (200, 201):
            return _sent(response)
        raise _failure(response, message)


def _sent(response: httpx.Response) -> Sent:
    try:
        created = msgspec.json.decode(response.content, type=_Created)
    except msgspec.DecodeError as exc:
        # Twilio took the text; trying again would send it twice.
        raise SendFailed(
            f"expected a Message with sid and status from Twilio, got {exc}", retryable=False
        ) from exc
    return Sent(sid=created.sid, state=state_of(created.status) or SMSState.QUEUED)


def _failure(response: httpx.Response, message: OutboundSMS) -> SendFailed:
    try:
        error = msgspec.json.decode(response.content, type=_Error)
    except msgspec.DecodeError:
        error = _Error()
    status = response.status_code
    retryable = status == 429 or status >= 500
    log.warning(
        "text to %s refused by Twilio: HTTP %d, error %s%s",
        mask(message.to), status, error.code, " (will retry)" if retryable else "",
    )
    detail = f": {_redact(error.message)}" if error.message else ""
    return SendFailed(
        f"expected 201 from Twilio, got {status} (error {error.code}){detail}",
        retryable=retryable,
        code=error.code,
        sender_blocked=error.code == UNSUBSCRIBED,
    )


_PHONE = re.compile(r"\+?\d{7,15}")


def _redact(text: str) -> str:
    """Twilio's messages can quote the number ("The 'To' number +1555... is not valid")."""
    return _PHONE.sub(lambda match: mask(match[0]), text)


# Webhooks ------------------------------------------------------------------------------------


def _required(form: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = form.get(name)
        if value:
            return value
    raise ValueError(f"expected {' or '.join(names)} in Twilio's form, but it is missing")


MAX_MEDIA = 10  # Twilio's own limit of photos in one MMS


def parse_inbound(form: Mapping[str, str]) -> InboundSMS:
    """An incoming-message webhook's form as an InboundSMS. Body may be empty (an MMS)."""
    raw_count = (form.get("NumMedia") or "0").strip()
    if not raw_count.isdigit():
        raise ValueError(f"expected NumMedia to be a number, got {raw_count!r}")
    media = tuple(
        InboundMedia(url=form[f"MediaUrl{i}"], content_type=form.get(f"MediaContentType{i}") or "")
        for i in range(min(int(raw_count), MAX_MEDIA))
        if form.get(f"MediaUrl{i}")
    )
    return InboundSMS(
        sid=_required(form, "MessageSid", "SmsSid"),
        phone=_required(form, "From"),
        sender=_required(form, "To"),
        body=form.get("Body") or "",
        opt_out_type=form.get("OptOutType") or None,
        media=media,
    )


def parse_status(form: Mapping[str, str]) -> StatusReport:
    """A status callback's form as a StatusReport."""
    raw_code = (form.get("ErrorCode") or "").strip()
    if raw_code and not raw_code.isdigit():
        raise ValueError(f"expected ErrorCode to be a number, got {raw_code!r}")
    error_code = int(raw_code) if raw_code else None
    return StatusReport(
        sid=_required(form, "MessageSid", "SmsSid"),
        state=state_of(_required(form, "MessageStatus", "SmsStatus")),
        sender_blocked=error_code == UNSUBSCRIBED,
        error_code=error_code,
    )


def is_valid_signature(
    url: str, form: Mapping[str, str], signature: str | None, auth_token: str
) -> bool:
    """Whether `signature` (X-Twilio-Signature) is Twilio's for a POST of `form` to `url`.

    Pass a multi-dict (Starlette's FormData) when a name can repeat: Twilio signs every value."""
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, form, signature)


def signed_url(public_base_url: str, path: str, query: str) -> str:
    """The URL Twilio signed: the configured public URL, never the Host header, which a
    proxy may have rewritten and a forger controls."""
    return public_base_url.rstrip("/") + path + (f"?{query}" if query else "")


# Characters XML 1.0 cannot carry at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def twiml(replies: list[str]) -> str:
    """A TwiML answer that texts each reply back; `<Response/>` says nothing."""
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    if not replies:
        return head + "<Response/>"
    messages = "".join(f"<Message>{escape(_NOT_XML.sub('', reply))}</Message>" for reply in replies)
    return f"{head}<Response>{messages}</Response>"
