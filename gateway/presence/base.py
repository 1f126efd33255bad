"""The Presence seam (contract section 9): which customer sockets of an order are joined and
in view, on any node, and how far the customer has read."""

from __future__ import annotations

from typing import Protocol

LEASE = 20.0  # seconds a socket counts as present without its node refreshing it
REFRESH_EVERY = 5.0  # a node refreshes its present sockets this often: a dead node stops
#                      counting within LEASE (the contract allows 30 s)


class Presence(Protocol):
    """Guarantees every implementation keeps:
    - A socket marked visible counts as present until it is marked hidden or gone, or its
      lease (LEASE seconds from the last mark or refresh) runs out: a node that dies without
      closing its sockets stops counting once their leases end.
    - `read_upto` only grows.
    - Every key of an order's presence expires with the order (or by its own lease).
    - Any method may raise StoreUnavailable.
    """

    async def mark(self, order_id: str, socket_id: str, visible: bool) -> None:
        """A customer socket's latest presence: visible (joined and in view) or not."""
        ...

    async def gone(self, order_id: str, socket_id: str) -> None:
        """The socket left the order or closed."""
        ...

    async def refresh(self, sockets: list[tuple[str, str]]) -> None:
        """Renews the lease of each (order_id, socket_id) still visible on this node."""
        ...

    async def present(self, order_id: str) -> bool:
        """Whether any customer socket of the order counts as present now."""
        ...

    async def read(self, order_id: str, seq: int) -> None:
        """The customer read the chat up to `seq` (on the page)."""
        ...

    async def read_upto(self, order_id: str) -> int:
        """The highest seq the customer has read on the page (0: none)."""
        ...
