"""The customer and shopper WebSockets (contract section 6): the handshake (token, Origin);
what happens on an accepted socket is gateway.session's."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from gateway import closecodes
from gateway.policy.chat import Role
from gateway.session import Session

if TYPE_CHECKING:
    from gateway.services import Services


class ChatSockets:
    def __init__(self, services: Services) -> None:
        self._services = services
        gateway = services.settings.gateway
        public = urlsplit(gateway.public_url)
        self._origins = {f"{public.scheme}://{public.netloc}", *(o.rstrip("/") for o in gateway.allowed_origins)}

    def routes(self) -> list[BaseRoute]:
        return [
            WebSocketRoute("/ws/customer", self.customer_socket),
            WebSocketRoute("/ws/shopper", self.shopper_socket),
        ]

    async def customer_socket(self, websocket: WebSocket) -> None:
        await self._serve(websocket, Role.CUSTOMER)

    async def shopper_socket(self, websocket: WebSocket) -> None:
        await self._serve(websocket, Role.SHOPPER)

    def _origin_allowed(self, websocket: WebSocket) -> bool:
        origin = websocket.headers.get("origin")
        return origin is None or origin.rstrip("/") in self._origins  # no Origin: the shopper app

    async def _serve(self, websocket: WebSocket, role: Role) -> None:
        services = self._services
        token = websocket.query_params.get("token", "")
        subject = services.tokens.subject(token, role, services.clock())
        if subject is None or not self._origin_allowed(websocket):
            await websocket.close(code=closecodes.POLICY_VIOLATION)  # before accept: 403
            return
        await websocket.accept()
        connections = services.metrics.connections.labels(role.value)
        connections.inc()
        try:
            await Session(websocket, role, subject, services).run()
        finally:
            connections.dec()
