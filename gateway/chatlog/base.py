"""The ChatLog seam: an order's chat, the only code that both assigns a seq and publishes."""

from __future__ import annotations

from typing import Protocol

import msgspec

from gateway.policy.receipts import SMSState
from gateway.store.records import ChatMessage


class Owes(msgspec.Struct, frozen=True):
    """What a new shopper message owes, written in the step that stores it: its first
    receipt (`queued`, or `not_sent` with its reason) and, when queued, its text: a debt in
    the order's outbox (gateway/jobs/outbox.py), so no crash after the ack can lose it."""

    state: SMSState
    reason: str | None = None
    held_until: float | None = None  # held (contract section 9): texted then at the latest

    @property
    def text(self) -> bool:
        return self.state in (SMSState.QUEUED, SMSState.HELD)


class ChatLog(Protocol):
    """Each order's messages, numbered, and the SMS state of each shopper message.

    Guarantees every implementation keeps:
    - `append` is atomic: the next seq (per order, from 1, no gaps), the message stored, its
      (sender, client_id) remembered so a retry returns the same message, its `message`
      frame published on the order's channel, and what it owes (`Owes`: its first receipt,
      published after the message, and its text in the order's outbox), all before it
      returns, and in seq order. A retry writes nothing and owes nothing again.
    - `advance_text_state` moves a text's state forward only and publishes its `receipt` frame
      in the same step.
    - Nothing is appended to an order the OrderStore no longer has (OrderNotFound), and the
      log expires with its order.
    - Any method may raise StoreUnavailable.
    """

    async def append(
        self, order_id: str, message: ChatMessage, owes: Owes | None = None
    ) -> tuple[ChatMessage, bool]:
        """Stores `message` (its seq is ignored) with the next seq. Returns the stored message
        and whether it is new (False: a retried client_id, answered with the first one)."""
        ...

    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        """Messages with seq > after, oldest first, at most `limit`."""
        ...

    async def last_seq(self, order_id: str) -> int: ...

    async def advance_text_state(
        self, order_id: str, seq: int, state: SMSState, reason: str | None = None
    ) -> bool:
        """Moves a shopper message's SMS state forward (policy.receipts) and, when it moves,
        publishes a `receipt` frame (with `reason`, policy.receipt_reasons). Returns whether
        it moved."""
        ...
