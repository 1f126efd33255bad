"""CORS for a few paths only: what the embedded `<order-chat>` element loads and calls from a
retailer's page (gateway/endpoints/embed.py CORS_PATHS), for `allowed_origins` only. Every
other path passes through untouched, so nothing else is opened to other origins."""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class CrossOrigin:
    """Starlette's CORSMiddleware (preflights included) on the paths matching `paths`."""

    def __init__(self, app: ASGIApp, *, origins: Iterable[str], paths: Iterable[re.Pattern[str]]) -> None:
        self.app = app
        self.paths = tuple(paths)
        self.cors = CORSMiddleware(
            app,
            allow_origins=[origin.rstrip("/") for origin in origins],
            allow_methods=["GET", "PUT", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(path.fullmatch(scope["path"]) for path in self.paths):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
