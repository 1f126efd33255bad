"""MemoryPresence: presence in embedded mode (one node)."""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.presence.base import LEASE
from gateway.store.memory import MemoryOrderStore


class MemoryPresence:
    """Presence in this process's memory. Leases still apply, so the rule is the same as on
    Redis, though a node that dies takes it all with it here. Kept while the memory order
    store keeps the order (`sweep`)."""

    def __init__(self, orders: MemoryOrderStore, clock: Callable[[], float] = time.time, lease: float = LEASE) -> None:
        self._orders = orders
        self._clock = clock
        self._lease = lease
        self._visible: dict[str, dict[str, float]] = {}  # order -> socket -> lease end
        self._read: dict[str, int] = {}

    async def mark(self, order_id: str, socket_id: str, visible: bool) -> None:
        if visible:
            self._visible.setdefault(order_id, {})[socket_id] = self._clock() + self._lease
        else:
            await self.gone(order_id, socket_id)

    async def gone(self, order_id: str, socket_id: str) -> None:
        sockets = self._visible.get(order_id)
        if sockets is not None:
            sockets.pop(socket_id, None)
            if not sockets:
                del self._visible[order_id]

    async def refresh(self, sockets: list[tuple[str, str]]) -> None:
        until = self._clock() + self._lease
        for order_id, socket_id in sockets:
            known = self._visible.get(order_id)
            if known is not None and socket_id in known:
                known[socket_id] = until

    async def present(self, order_id: str) -> bool:
        now = self._clock()
        return any(until > now for until in self._visible.get(order_id, {}).values())

    async def read(self, order_id: str, seq: int) -> None:
        self._read[order_id] = max(seq, self._read.get(order_id, 0))

    async def read_upto(self, order_id: str) -> int:
        return self._read.get(order_id, 0)

    def sweep(self) -> None:
        """Drops what it keeps of orders the order store no longer has."""
        for kept in (self._visible, self._read):
            for order_id in [i for i in kept if not self._orders.alive(i)]:
                del kept[order_id]
