"""Which MediaUrl the gateway may fetch with the account's credentials: only one on the
origin of twilio_api_base (scheme, host and port)."""

from __future__ import annotations

import pytest

from gateway.sms.twilio_media import TwilioMediaSource

SOURCE = TwilioMediaSource("AC" + "0" * 32, "token", "https://api.twilio.com")


@pytest.mark.parametrize(
    ("url", "fetched"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1", True),
        ("https://API.twilio.com:443/2010-04-01/x", True),
        ("http://api.twilio.com/2010-04-01/x", False),  # not over TLS: the credentials would show
        ("https://api.twilio.com:8443/x", False),
        ("https://api.twilio.com.evil.example/x", False),
        ("https://evil.example/api.twilio.com/x", False),
        ("https://user@evil.example/x", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
        ("", False),
    ],
)
def test_only_the_api_bases_origin_is_twilios(url: str, fetched: bool) -> None:
    assert SOURCE.is_twilios(url) is fetched
