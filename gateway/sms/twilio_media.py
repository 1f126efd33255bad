"""TwilioMediaSource: an inbound MMS's photos, fetched from Twilio's API with the account's
credentials (contract section 10).

A signed webhook is not a licence to fetch the internet: a `MediaUrl` is fetched only when it
has the origin (scheme, host, port) of `twilio_api_base`, and only there do the credentials go.
Twilio's API answers a media URL with a redirect to its media storage on another host; the
redirects that URL answers are followed, at most three, to any http(s) URL (the answer came
from Twilio, over the authenticated connection), but without the credentials."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx

from gateway.sms.base import FetchFailed, Fetched

MAX_REDIRECTS = 3
TIMEOUT = httpx.Timeout(10.0)
_REDIRECTS = (301, 302, 303, 307, 308)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class TwilioMediaSource:
    def __init__(self, account_sid: str, auth_token: str, api_base: str) -> None:
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._origin = _origin(api_base)
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        # trust_env=False: a proxy meant for something else must not see our credentials.
        self._http = httpx.AsyncClient(trust_env=False, timeout=TIMEOUT, follow_redirects=False)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def is_twilios(self, url: str) -> bool:
        return _origin(url) == self._origin

    async def fetch(self, url: str, max_bytes: int) -> Fetched:
        if self._http is None:
            raise RuntimeError("TwilioMediaSource.fetch() called before start()")
        if not self.is_twilios(url):
            raise FetchFailed("expected a media URL on the host of twilio_api_base; not fetched", retryable=False)
        for _ in range(MAX_REDIRECTS + 1):
            auth = self._auth if self.is_twilios(url) else None
            try:
                async with self._http.stream("GET", url, auth=auth) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        if urlsplit(url).scheme not in ("http", "https"):
                            raise FetchFailed("expected a redirect to an http(s) URL", retryable=False)
                        continue
                    if response.status_code != 200:
                        retryable = response.status_code in (404, 429) or response.status_code >= 500
                        raise FetchFailed(f"expected 200 for a photo, got {response.status_code}", retryable=retryable)
                    return Fetched(
                        content_type=response.headers.get("content-type", ""),
                        data=await _read_capped(response, max_bytes),
                    )
            except httpx.TransportError as exc:
                raise FetchFailed(f"expected an answer, but the request failed: {type(exc).__name__}", retryable=True) from exc
        raise FetchFailed(f"expected a photo within {MAX_REDIRECTS} redirects", retryable=False)


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailed(f"expected a photo of at most {max_bytes} bytes", retryable=False)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        if len(body) + len(chunk) > max_bytes:
            raise FetchFailed(f"expected a photo of at most {max_bytes} bytes", retryable=False)
        body += chunk
    return bytes(body)
