"""TwilioTransport against a local fake of the Messages API (request shape, Twilio's error
answers) and against Prism serving Twilio's own OpenAPI spec (every request we make is valid)."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from gateway.policy.receipts import SMSState
from gateway.sms.base import OutboundSMS, Sent, SendFailed
from gateway.sms.twilio import TwilioTransport
from support.fake_twilio import FakeTwilio

pytestmark = pytest.mark.integration

CUSTOMER = "+15551230001"
SENDER = "+15005550006"
CALLBACK = "https://gateway.example/twilio/status"
TEXT = OutboundSMS(
    to=CUSTOMER, sender=SENDER, body="Ana is shopping your order 🛒 & more: a=b?c", status_callback=CALLBACK
)


@pytest.fixture
async def transport(fake_twilio: FakeTwilio):
    transport = TwilioTransport(fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.base_url)
    await transport.start()
    yield transport
    await transport.close()


async def test_send_posts_the_text_as_a_form_with_basic_auth(transport, fake_twilio):
    sent = await transport.send(TEXT)

    [request] = await fake_twilio.wait_for_requests(1)
    assert request.account_sid == fake_twilio.account_sid
    assert (request.username, request.password) == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert request.form == {"To": CUSTOMER, "From": SENDER, "Body": TEXT.body, "StatusCallback": CALLBACK}
    assert request.answered == 201
    assert sent.sid == request.sid
    assert sent.state is SMSState.QUEUED
    assert sent.sid.startswith("SM") and len(sent.sid) == 34


async def test_each_send_returns_twilios_own_sid(transport):
    first = await transport.send(TEXT)
    second = await transport.send(TEXT)
    assert first.sid != second.sid


async def test_send_without_status_callback_leaves_it_out(transport, fake_twilio):
    await transport.send(OutboundSMS(to=CUSTOMER, sender=SENDER, body="hi"))
    [request] = await fake_twilio.wait_for_requests(1)
    assert request.form == {"To": CUSTOMER, "From": SENDER, "Body": "hi"}


PHOTOS = ("https://gw.example/media/a?sig=x.y", "https://gw.example/media/b?sig=z.w")


async def test_an_mms_carries_one_media_url_per_photo(transport, fake_twilio):
    await transport.send(OutboundSMS(to=CUSTOMER, sender=SENDER, body="This one?", media_urls=PHOTOS))
    await transport.send(OutboundSMS(to=CUSTOMER, sender=SENDER, body="", media_urls=PHOTOS[:1]))
    with_text, photo_only = await fake_twilio.wait_for_accepted(2)
    assert (with_text.form["Body"], with_text.media_urls) == ("This one?", PHOTOS)
    assert "Body" not in photo_only.form and photo_only.media_urls == PHOTOS[:1]


async def test_api_base_with_a_trailing_slash_reaches_the_same_resource(fake_twilio):
    transport = TwilioTransport(fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.base_url + "/")
    await transport.start()
    try:
        await transport.send(TEXT)
    finally:
        await transport.close()
    assert [request.answered for request in fake_twilio.requests] == [201]


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, 20429), (500, 20500), (503, 20503)],
)
async def test_throttling_and_server_errors_are_retryable(transport, fake_twilio, status, code):
    fake_twilio.fail_next(status=status)
    with pytest.raises(SendFailed) as failed:
        await transport.send(TEXT)
    assert failed.value.retryable is True
    assert failed.value.code == code
    # Nothing is stuck: the next attempt goes through.
    assert isinstance(await transport.send(TEXT), Sent)
    assert [request.answered for request in fake_twilio.requests] == [status, 201]


async def test_unsubscribed_recipient_is_final_with_code_21610(transport, fake_twilio):
    fake_twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    with pytest.raises(SendFailed) as failed:
        await transport.send(TEXT)
    assert failed.value.retryable is False
    assert failed.value.code == 21610
    assert failed.value.sender_blocked is True  # Twilio's 21610 in the gateway's words
    assert "unsubscribed" in str(failed.value)


async def test_wrong_credentials_are_not_retried(fake_twilio):
    transport = TwilioTransport(fake_twilio.account_sid, "not-the-token", fake_twilio.base_url)
    await transport.start()
    try:
        with pytest.raises(SendFailed) as failed:
            await transport.send(TEXT)
    finally:
        await transport.close()
    assert (failed.value.retryable, failed.value.code) == (False, 20003)


async def test_numbers_and_text_stay_out_of_errors_and_logs(transport, fake_twilio, caplog):
    fake_twilio.fail_next(
        status=400, code=21211, message=f"The 'To' number {CUSTOMER} is not a valid phone number."
    )
    caplog.set_level(logging.DEBUG, logger="gateway")
    with pytest.raises(SendFailed) as failed:
        await transport.send(TEXT)
    assert failed.value.code == 21211
    said = str(failed.value) + "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "a refused text is logged"
    for secret in (CUSTOMER, SENDER, TEXT.body):
        assert secret not in said


async def test_unreachable_twilio_is_retryable():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    transport = TwilioTransport("AC" + "0" * 32, "token", f"http://127.0.0.1:{port}")
    await transport.start()
    try:
        with pytest.raises(SendFailed) as failed:
            await transport.send(TEXT)
    finally:
        await transport.close()
    assert (failed.value.retryable, failed.value.code) == (True, None)


async def test_an_injected_client_is_left_open_for_its_owner(fake_twilio):
    async with httpx.AsyncClient(trust_env=False) as http:
        transport = TwilioTransport(
            fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.base_url, http=http
        )
        await transport.start()
        await transport.send(TEXT)
        await transport.close()
        assert not http.is_closed
        assert [request.answered for request in fake_twilio.requests] == [201]


# Prism: Twilio's OpenAPI spec ---------------------------------------------------------------

SPEC_ACCOUNT = "AC" + "0" * 32


async def test_twilios_spec_accepts_our_send(prism_twilio):
    transport = TwilioTransport(SPEC_ACCOUNT, "test-token", prism_twilio)
    await transport.start()
    try:
        with_callback = await transport.send(TEXT)
        without_callback = await transport.send(OutboundSMS(to=CUSTOMER, sender=SENDER, body="hi"))
        mms = await transport.send(OutboundSMS(to=CUSTOMER, sender=SENDER, body="This one?", media_urls=PHOTOS))
        photo_only = await transport.send(OutboundSMS(to=CUSTOMER, sender=SENDER, body="", media_urls=PHOTOS[:1]))
    finally:
        await transport.close()
    # Prism answers 201 with the spec's example Message; 422 would mean an invalid request.
    for sent in (with_callback, without_callback, mms, photo_only):
        assert sent.sid.startswith("SM")
        assert sent.state in SMSState


async def test_twilios_spec_refuses_what_twilio_would(prism_twilio):
    # Proves the check above has teeth: a malformed account SID is a 422, not a 201.
    transport = TwilioTransport("ACnot-an-account", "test-token", prism_twilio)
    await transport.start()
    try:
        with pytest.raises(SendFailed) as failed:
            await transport.send(TEXT)
    finally:
        await transport.close()
    assert failed.value.retryable is False
    assert "422" in str(failed.value)


async def test_twilios_spec_checks_each_media_url(prism_twilio):
    # The MMS check above has teeth too: a MediaUrl that is not a URL is a 422.
    transport = TwilioTransport(SPEC_ACCOUNT, "test-token", prism_twilio)
    await transport.start()
    try:
        with pytest.raises(SendFailed) as failed:
            await transport.send(OutboundSMS(to=CUSTOMER, sender=SENDER, body="", media_urls=("not a url",)))
    finally:
        await transport.close()
    assert "422" in str(failed.value)
