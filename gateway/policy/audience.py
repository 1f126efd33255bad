"""Who hears which frame of an order's channel: every participant hears messages, status and
proposal answers; typing and read go to the other side only; SMS receipts to shoppers only."""

from __future__ import annotations

from gateway.policy.chat import Role


def hears(role: Role, frame_type: str, sender: str | None = None, by: str | None = None) -> bool:
    """Whether a socket of `role` is sent a frame of `frame_type` (with its `from`, for
    typing, and its `by`, for read)."""
    match frame_type:
        case "typing":
            return sender != role
        case "read":
            return by != role
        case "receipt":
            return role is Role.SHOPPER
        case _:
            return True
