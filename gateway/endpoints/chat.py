"""The customer and shopper WebSockets (contract section 6): the handshake (token, Origin);
what happens on an accepted socket is gateway.session's.

The app hands them here before its middleware and router (gateway/app.py), which have
nothing to do for a chat socket: each layer would cost every idle socket a suspended
coroutine frame (about half a KB) and every frame sent a call through it."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from gateway import closecodes
from gateway.policy.chat import Role
from gateway.session import Session
from gateway.websocket_server import shed_handshake

if TYPE_CHECKING:
    from gateway.services import Services


class ChatSockets:
    def __init__(self, services: Services) -> None:
        self._services = services
        gateway = services.settings.gateway
        public = urlsplit(gateway.public_url)
        self._origins = {f"{public.scheme}://{public.netloc}", *(o.rstrip("/") for o in gateway.allowed_origins)}

    PATHS = {"/ws/customer": Role.CUSTOMER, "/ws/shopper": Role.SHOPPER}

    def role_of(self, scope: Scope) -> Role | None:
        """The role of a chat socket's handshake (its path says which); None for anything else."""
        return self.PATHS.get(scope["path"]) if scope["type"] == "websocket" else None

    def _origin_allowed(self, scope: Scope) -> bool:
        # The raw headers (names lower-cased by the server), as building Starlette's Headers
        # for one lookup costs every handshake more than the lookup.
        for name, value in scope["headers"]:
            if name == b"origin":
                return value.decode("latin-1").rstrip("/") in self._origins
        return True  # no Origin: the shopper app

    async def serve(self, scope: Scope, receive: Receive, send: Send, role: Role) -> None:
        """A chat socket of `role`: refused before accept (403) without a token of that role
        or from an origin not allowed; else served until it closes."""
        services = self._services
        websocket = WebSocket(scope, receive, send)
        token = _token_of(scope)
        subject = services.tokens.subject(token, role, services.clock())
        if subject is None or not self._origin_allowed(scope):
            await websocket.close(code=closecodes.POLICY_VIOLATION)  # before accept: 403
            return
        await websocket.accept()
        shed_handshake(websocket)
        connections = services.metrics.connections.labels(role.value)
        connections.inc()
        try:
            await Session(websocket, role, subject, services).run()
        finally:
            connections.dec()


def _token_of(scope: Scope) -> str:
    """The `token` query parameter (the last one, as Starlette reads it), parsed here rather
    than through `WebSocket.query_params`, which would keep a parsed copy for the socket's life."""
    token = ""
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if name == "token":
            token = value
    return token
