"""Signed photo URLs: any node with the secret checks them; nothing else passes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.media.urls import LinkError, MediaLinks, expiry_for
from gateway.tokens import Tokens

NOW = 1_700_000_000
LINKS = MediaLinks("secret-one", "https://gw.example/")


def test_a_signed_url_names_its_photo_under_public_url_and_verifies_on_another_node() -> None:
    url = LINKS.url("order-1", "m1", NOW + 60)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "gw.example", "/media/m1")
    sig = parse_qs(parts.query)["sig"][0]
    assert MediaLinks("secret-one", "http://other-node").verify("m1", sig, NOW) == "order-1"


@pytest.mark.parametrize(
    ("media_id", "sig", "why"),
    [
        ("m2", LINKS.sign("order-1", "m1", NOW + 60), "another photo's signature"),
        ("m1", LINKS.sign("order-1", "m1", NOW), "expired"),
        ("m1", MediaLinks("secret-two", "https://gw.example").sign("order-1", "m1", NOW + 60), "another secret"),
        ("m1", LINKS.sign("order-1", "m1", NOW + 60)[:-2] + "AA", "a changed MAC"),
        ("m1", LINKS.sign("order-2", "m1", NOW + 60).split(".")[0] + "." + LINKS.sign("order-1", "m1", NOW + 60).split(".")[1], "another order"),
        ("m1", "", "empty"),
        ("m1", "no-dot", "malformed"),
        ("m1", "é.é", "not ASCII"),
    ],
)
def test_anything_but_a_valid_unexpired_signature_of_this_photo_is_refused(media_id, sig, why) -> None:
    with pytest.raises(LinkError):
        LINKS.verify(media_id, sig, NOW)


def test_a_customer_token_is_not_a_media_signature() -> None:
    token = Tokens("secret-one").customer("order-1", NOW)
    with pytest.raises(LinkError):
        LINKS.verify("m1", token, NOW)


def test_links_last_as_long_as_the_customer_token() -> None:
    assert expiry_for(NOW + 0.7) == NOW + 30 * 86400
