"""Customer and shopper tokens: HMAC-SHA256-signed, expiring, URL-safe.

A token is `base64url(json claims) "." base64url(hmac)`; claims are the kind ("c" customer,
"s" shopper), the subject (order id or shopper id) and the expiry (unix seconds)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

import msgspec

CUSTOMER_TTL = 30 * 86400  # from the order's creation: outlives any order plus its retention
SHOPPER_TTL = 12 * 3600  # one shift


class Claims(msgspec.Struct, frozen=True):
    k: Literal["c", "s"]
    sub: str
    exp: int


_decode_claims = msgspec.json.Decoder(Claims).decode


class TokenError(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"gateway-tokens\0" + secret.encode()).digest()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def mint(self, kind: Literal["c", "s"], subject: str, expires_at: int) -> str:
        body = _b64(msgspec.json.encode(Claims(k=kind, sub=subject, exp=expires_at)))
        return f"{body}.{self._sign(body)}"

    def customer(self, order_id: str, created_at: float) -> str:
        """Deterministic for an order, so a retried create returns the same token."""
        return self.mint("c", order_id, int(created_at) + CUSTOMER_TTL)

    def verify(self, token: str, kind: Literal["c", "s"], now: float) -> str:
        """The subject of a valid, unexpired token of this kind; raises TokenError."""
        if not token.isascii():
            raise TokenError("expected a URL-safe token")
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            raise TokenError("bad signature")
        try:
            claims = _decode_claims(_unb64(body))
        except (ValueError, msgspec.DecodeError):
            raise TokenError("malformed claims") from None
        if claims.k != kind:
            raise TokenError(f"expected a {'customer' if kind == 'c' else 'shopper'} token")
        if claims.exp <= now:
            raise TokenError("expired")
        return claims.sub
