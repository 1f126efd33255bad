"""PresenceKeeper: this node's part in presence. Sockets tell it when their customer is in
view, hidden or gone; it writes that to the shared Presence and renews the leases of the
sockets still in view, so a node that dies stops counting within the lease."""

from __future__ import annotations

import asyncio
import logging

from gateway.presence.base import REFRESH_EVERY, Presence

log = logging.getLogger("gateway.presence")


class PresenceKeeper:
    def __init__(self, presence: Presence, refresh_every: float = REFRESH_EVERY) -> None:
        self._presence = presence
        self._refresh_every = refresh_every
        self._visible: set[tuple[str, str]] = set()  # (order_id, socket_id) in view on this node
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._renew(), name="presence-renew")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=self._refresh_every)

    # Presence is told on a best-effort basis: when Redis cannot take it, the customer counts
    # as not present and their texts go out at once, which is the safe side of section 9.

    async def seen(self, order_id: str, socket_id: str, visible: bool) -> None:
        """A customer socket joined (visible until it says otherwise) or sent `presence`."""
        key = (order_id, socket_id)
        (self._visible.add if visible else self._visible.discard)(key)
        await self._tell(self._presence.mark(order_id, socket_id, visible))

    async def gone(self, order_id: str, socket_id: str) -> None:
        """The socket left the order or closed."""
        self._visible.discard((order_id, socket_id))
        await self._tell(self._presence.gone(order_id, socket_id))

    async def read(self, order_id: str, seq: int) -> None:
        """The customer read the chat up to `seq` on the page."""
        await self._tell(self._presence.read(order_id, seq))

    @staticmethod
    async def _tell(call) -> None:
        try:
            await call
        except (ConnectionError, OSError) as exc:
            log.warning("presence not recorded (%s)", type(exc).__name__)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_every)
            if not self._visible:
                continue
            try:
                await self._presence.refresh(list(self._visible))
            except (ConnectionError, OSError) as exc:
                # The leases may run out meanwhile: held texts then go out, which is the safe side.
                log.warning("could not renew presence leases (%s)", type(exc).__name__)
