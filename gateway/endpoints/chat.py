"""The customer and shopper WebSockets (contract section 6): the handshake (token, Origin);
what happens on an accepted socket is gateway.session's."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from gateway.policy.chat import Role
from gateway.session import Session
from gateway.tokens import TokenError


def _origin_allowed(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: the shopper app
    settings = websocket.state.settings
    public = urlsplit(settings.gateway.public_url)
    allowed = {f"{public.scheme}://{public.netloc}", *(o.rstrip("/") for o in settings.gateway.allowed_origins)}
    return origin.rstrip("/") in allowed


async def customer_socket(websocket: WebSocket) -> None:
    await _serve(websocket, Role.CUSTOMER, "c")


async def shopper_socket(websocket: WebSocket) -> None:
    await _serve(websocket, Role.SHOPPER, "s")


async def _serve(websocket: WebSocket, role: Role, kind: str) -> None:
    state = websocket.state
    try:
        subject = state.tokens.verify(websocket.query_params.get("token", ""), kind, state.clock())
    except TokenError:
        await websocket.close(code=1008)  # before accept: the handshake gets 403
        return
    if not _origin_allowed(websocket):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    session = Session(websocket, role, subject)
    state.metrics.connections.labels(role.value).inc()
    try:
        await session.run()
    finally:
        state.metrics.connections.labels(role.value).dec()


routes = [
    WebSocketRoute("/ws/customer", customer_socket),
    WebSocketRoute("/ws/shopper", shopper_socket),
]
