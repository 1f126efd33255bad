"""Signed photo URLs, `GET /media/{id}?sig=…`, that any node checks with the shared secret.

`sig` is `base64url(expiry, order id) "." base64url(first 16 bytes of an HMAC-SHA256 over the
photo id and that body)`: the order id tells a node where the photo is kept, the expiry
bounds a URL that leaked, and the MAC binds both to the one photo. The key is derived from
`gateway.secret` for this use alone, so a media signature is never a token, nor one a
signature.

A URL is signed once, when its message is stored, and kept in the message (messages are never
rewritten, and the relay forwards stored bytes): so it is valid as long as the customer's
token is, 30 days from the order's creation, beyond any order's life plus its retention; the
photo's own purge with the order ends it sooner (404)."""

from __future__ import annotations

import binascii
import hashlib
import hmac

from gateway.tokens import CUSTOMER_TTL, b64url, unb64url

_MAC_BYTES = 16


class LinkError(ValueError):
    """A media signature that is malformed, forged, for another photo, or expired."""


def expiry_for(order_created_at: float) -> int:
    """When the links of an order's photos stop working: when its customer token does."""
    return int(order_created_at) + CUSTOMER_TTL


class MediaLinks:
    def __init__(self, secret: str, public_base_url: str) -> None:
        self._key = hashlib.sha256(b"gateway-media\0" + secret.encode()).digest()
        self._base = public_base_url.rstrip("/")

    def _mac(self, media_id: str, body: str) -> str:
        signed = f"{media_id}\0{body}".encode()
        return b64url(hmac.new(self._key, signed, hashlib.sha256).digest()[:_MAC_BYTES])

    def sign(self, order_id: str, media_id: str, expires_at: int) -> str:
        body = b64url(expires_at.to_bytes(5, "big") + order_id.encode())
        return f"{body}.{self._mac(media_id, body)}"

    def url(self, order_id: str, media_id: str, expires_at: int) -> str:
        """The absolute URL under public_url (the shopper app and Twilio fetch it from afar)."""
        return f"{self._base}/media/{media_id}?sig={self.sign(order_id, media_id, expires_at)}"

    def verify(self, media_id: str, sig: str, now: float) -> str:
        """The order id a valid, unexpired signature of this photo names; raises LinkError."""
        if not sig.isascii() or not media_id.isascii():
            raise LinkError("expected a URL-safe signature")
        body, _, mac = sig.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(media_id, body)):
            raise LinkError("bad signature")
        try:
            claims = unb64url(body)
            order_id = claims[5:].decode()
        except (binascii.Error, UnicodeDecodeError):
            raise LinkError("malformed signature") from None
        if int.from_bytes(claims[:5], "big") <= now:
            raise LinkError("expired")
        return order_id
