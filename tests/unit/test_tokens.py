"""Customer and shopper tokens (contract sections 4 and 6): signed, expiring, one kind each; a
retried order create gets the same customer token."""

from __future__ import annotations

import pytest

from gateway.policy.chat import Role
from gateway.templates import TOKEN_MAX
from gateway.tokens import CUSTOMER_TTL, TokenError, Tokens

NOW = 1_800_000_000


@pytest.fixture
def tokens() -> Tokens:
    return Tokens("test-secret")


@pytest.mark.parametrize(
    ("kind", "subject"),
    [(Role.CUSTOMER, "order-1"), (Role.SHOPPER, "shopper-7"), (Role.CUSTOMER, "ord_ünïcode"), (Role.SHOPPER, "a" * 128), (Role.CUSTOMER, "with.dot")],
)
def test_round_trip(tokens, kind, subject):
    token = tokens.mint(kind, subject, NOW + 60)
    assert tokens.verify(token, kind, NOW) == subject


@pytest.mark.parametrize(("minted", "wanted"), [(Role.CUSTOMER, Role.SHOPPER), (Role.SHOPPER, Role.CUSTOMER)])
def test_wrong_kind_is_refused(tokens, minted, wanted):
    token = tokens.mint(minted, "x", NOW + 60)
    with pytest.raises(TokenError, match="expected a"):
        tokens.verify(token, wanted, NOW)


@pytest.mark.parametrize("expires_at", [NOW, NOW - 1, 0])
def test_expired_token_is_refused(tokens, expires_at):
    token = tokens.mint(Role.SHOPPER, "shopper-1", expires_at)
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(token, Role.SHOPPER, NOW)


def test_token_is_good_until_just_before_expiry(tokens):
    token = tokens.mint(Role.SHOPPER, "shopper-1", NOW + 1)
    assert tokens.verify(token, Role.SHOPPER, NOW + 0.999) == "shopper-1"


def flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, sig: f"{flip(body, 0)}.{sig}", id="body-first-char"),
        pytest.param(lambda body, sig: f"{flip(body, len(body) - 1)}.{sig}", id="body-last-char"),
        pytest.param(lambda body, sig: f"{flip(body, len(body) // 2)}.{sig}", id="body-middle"),
        pytest.param(lambda body, sig: f"{body}.{flip(sig, 0)}", id="signature-first-char"),
        pytest.param(lambda body, sig: f"{body}.{flip(sig, len(sig) - 1)}", id="signature-last-char"),
        pytest.param(lambda body, sig: f"{body}.", id="signature-missing"),
        pytest.param(lambda body, sig: body, id="no-dot"),
        pytest.param(lambda body, sig: f".{sig}", id="body-missing"),
        pytest.param(lambda body, sig: f"{body}.{sig}.{sig}", id="extra-part"),
        pytest.param(lambda body, sig: "", id="empty"),
        pytest.param(lambda body, sig: f"{body}.{sig[:-1]}é", id="non-ascii-signature"),
    ],
)
def test_tampered_token_is_refused(tokens, tamper):
    body, _, signature = tokens.mint(Role.CUSTOMER, "order-1", NOW + 60).partition(".")
    with pytest.raises(TokenError):
        tokens.verify(tamper(body, signature), Role.CUSTOMER, NOW)


def test_token_from_another_secret_is_refused(tokens):
    token = Tokens("another-secret").mint(Role.CUSTOMER, "order-1", NOW + 60)
    with pytest.raises(TokenError, match="bad signature"):
        tokens.verify(token, Role.CUSTOMER, NOW)


def test_customer_token_is_deterministic_for_an_order():
    created_at = NOW + 0.25
    first = Tokens("test-secret").customer("order-1", created_at)
    # Another node with the same secret, for the retried create.
    assert Tokens("test-secret").customer("order-1", created_at) == first
    assert Tokens("test-secret").customer("order-2", created_at) != first
    assert Tokens("test-secret").customer("order-1", created_at + 5) != first
    assert Tokens("other-secret").customer("order-1", created_at) != first


def test_customer_token_outlives_the_order_by_its_ttl(tokens):
    token = tokens.customer("order-1", NOW)
    assert tokens.verify(token, Role.CUSTOMER, NOW + CUSTOMER_TTL - 1) == "order-1"
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(token, Role.CUSTOMER, NOW + CUSTOMER_TTL)


def test_token_is_url_safe(tokens):
    token = tokens.mint(Role.CUSTOMER, "order/with?odd&chars=1", NOW + 60)
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert set(token) <= allowed


def test_longest_customer_token_fits_the_length_the_template_check_assumes(tokens):
    # The start-up check sizes {status_url} with a token of templates.TOKEN_MAX characters.
    longest_order_id = "W" * 128  # the API's limit
    assert len(tokens.customer(longest_order_id, 9_999_999_999)) <= TOKEN_MAX
