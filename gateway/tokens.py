"""Customer and shopper tokens: HMAC-SHA256-signed, expiring, URL-safe, and short. Every
token is minted and checked here.

A token is `base64url(role, expiry, subject) "." base64url(first 16 bytes of the HMAC)`:
the role is one byte ("c" customer, "s" shopper), the expiry five bytes of unix seconds, the
subject (order id or shopper id) the rest. Short matters: a customer token rides in every
status text's link, and a link of ~140 characters turned a one-segment text into two."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from gateway.policy.chat import Role

CUSTOMER_TTL = 30 * 86400  # from the order's creation: outlives any order plus its retention
SHOPPER_TTL = 12 * 3600  # one shift
_MAC_BYTES = 16  # 128 bits of HMAC-SHA256: forging one is still out of reach
_ROLE_BYTE = {Role.CUSTOMER: b"c", Role.SHOPPER: b"s"}


class TokenError(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"gateway-tokens\0" + secret.encode()).digest()

    def _sign(self, body: str) -> str:
        return b64url(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES])

    def mint(self, role: Role, subject: str, expires_at: int) -> str:
        body = b64url(_ROLE_BYTE[role] + expires_at.to_bytes(5, "big") + subject.encode())
        return f"{body}.{self._sign(body)}"

    def customer(self, order_id: str, created_at: float) -> str:
        """Deterministic for an order, so a retried create returns the same token."""
        return self.mint(Role.CUSTOMER, order_id, int(created_at) + CUSTOMER_TTL)

    def shopper(self, shopper_id: str, now: float) -> tuple[str, int]:
        """A token for one shift, and when it expires (unix seconds)."""
        expires_at = int(now) + SHOPPER_TTL
        return self.mint(Role.SHOPPER, shopper_id, expires_at), expires_at

    def verify(self, token: str, role: Role, now: float) -> str:
        """The subject of a valid, unexpired token of this role; raises TokenError."""
        if not token.isascii():
            raise TokenError("expected a URL-safe token")
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            raise TokenError("bad signature")
        try:
            claims = unb64url(body)
            subject = claims[6:].decode()
        except (binascii.Error, UnicodeDecodeError):
            raise TokenError("malformed claims") from None
        if claims[:1] != _ROLE_BYTE[role]:
            raise TokenError(f"expected a {role.value} token")
        if int.from_bytes(claims[1:6], "big") <= now:
            raise TokenError("expired")
        return subject

    def subject(self, token: str, role: Role, now: float) -> str | None:
        """`verify` for callers that only need yes or no: the subject, or None."""
        try:
            return self.verify(token, role, now)
        except TokenError:
            return None
