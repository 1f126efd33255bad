"""The ChatLog seam: an order's chat, the only code that both assigns a seq and publishes."""

from __future__ import annotations

from typing import Protocol

from gateway.policy.receipts import SMSState
from gateway.store.records import ChatMessage


class ChatLog(Protocol):
    """Each order's messages, numbered, and the SMS state of each shopper message.

    Guarantees every implementation keeps:
    - `append` is atomic: the next seq (per order, from 1, no gaps), the message stored, its
      (sender, client_id) remembered so a retry returns the same message, and its `message`
      frame published on the order's channel, all before it returns, and in seq order.
    - `advance_text_state` moves a text's state forward only and publishes its `receipt` frame
      in the same step.
    - Nothing is appended to an order the OrderStore no longer has (OrderNotFound), and the
      log expires with its order.
    - Any method may raise StoreUnavailable.
    """

    async def append(self, order_id: str, message: ChatMessage) -> tuple[ChatMessage, bool]:
        """Stores `message` (its seq is ignored) with the next seq. Returns the stored message
        and whether it is new (False: a retried client_id, answered with the first one)."""
        ...

    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        """Messages with seq > after, oldest first, at most `limit`."""
        ...

    async def last_seq(self, order_id: str) -> int: ...

    async def advance_text_state(self, order_id: str, seq: int, state: SMSState) -> bool:
        """Moves a shopper message's SMS state forward (policy.receipts) and, when it moves,
        publishes a `receipt` frame. Returns whether it moved."""
        ...
