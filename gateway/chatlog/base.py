"""The ChatLog seam: an order's chat, the only code that both assigns a seq and publishes."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import msgspec

from gateway.policy.receipts import SMSState
from gateway.store.records import ChatMessage, ProposalAnswer


class Answered(StrEnum):
    """What `ChatLog.answer` did."""

    NEW = "new"  # the proposal now carries this answer, and the answer message is stored
    REPEAT = "repeat"  # a retried client_id: the message stored the first time
    ALREADY = "already"  # the proposal was answered first by someone else: nothing stored
    NO_PROPOSAL = "no_proposal"  # no message at that seq, or one without a proposal


def proposal_answer(message: ChatMessage) -> ProposalAnswer:
    """The `answer` a proposal carries once `message` (a customer's answer) has answered it."""
    assert message.answer is not None
    return ProposalAnswer(choice=message.answer.choice, via=message.via, at=message.at)


class Owes(msgspec.Struct, frozen=True):
    """What a new shopper message owes, written in the step that stores it: its first
    receipt (`queued`, or `not_sent` with its reason) and, when queued, its text: a debt in
    the order's outbox (gateway/jobs/outbox.py), so no crash after the ack can lose it."""

    state: SMSState
    reason: str | None = None
    body: str | None = None  # the text's words when they are not the message's (a proposal's)
    held_until: float | None = None  # held (contract section 9): texted then at the latest

    @property
    def text(self) -> bool:
        return self.state in (SMSState.QUEUED, SMSState.HELD)

    def text_body(self, message: ChatMessage) -> str:
        """What the text of `message` says."""
        return message.text if self.body is None else self.body


class StaleOrder(Exception):
    """The order's record is no longer the version a message was decided on (ChatLog.append):
    nothing was stored. Decide again on the record as it is."""


class ChatLog(Protocol):
    """Each order's messages, numbered, and the SMS state of each shopper message.

    Guarantees every implementation keeps:
    - `append` is atomic: the next seq (per order, from 1, no gaps), the message stored, its
      (sender, client_id) remembered so a retry returns the same message, its `message`
      frame published on the order's channel, and what it owes (`Owes`: its first receipt,
      published after the message, and its text in the order's outbox), all before it
      returns, and in seq order. A retry writes nothing and owes nothing again. Given the
      `version` of the order's record the message was decided on, it stores nothing unless
      the record is still that version (StaleOrder), in the same step.
    - `answer` is atomic too, across every node and channel: the first answer to a proposal
      is written into the proposal message (same seq, same place in history) and appended
      as the customer's answer message with the next seq, and both the `message` and the
      `proposal` frames are published, in one step; any later answer changes nothing.
    - `advance_text_state` moves a text's state forward only and publishes its `receipt` frame
      in the same step.
    - Nothing is appended to an order the OrderStore no longer has (OrderNotFound), and the
      log expires with its order.
    - Any method may raise StoreUnavailable.
    """

    async def append(
        self, order_id: str, message: ChatMessage, owes: Owes | None = None, version: int = 0
    ) -> tuple[ChatMessage, bool]:
        """Stores `message` (its seq is ignored) with the next seq. Returns the stored message
        and whether it is new (False: a retried client_id, answered with the first one).
        `version`: the order record's the message was decided on (0: not checked)."""
        ...

    async def answer(self, order_id: str, message: ChatMessage) -> tuple[ChatMessage | None, Answered]:
        """Answers the proposal at `message.answer.seq` with `message` (a customer's, its seq
        ignored), if it is still unanswered. Returns the stored answer message (None when
        ALREADY or NO_PROPOSAL) and what happened."""
        ...

    async def latest_open_proposal(self, order_id: str) -> ChatMessage | None:
        """The order's latest proposal that has no answer yet, if any."""
        ...

    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        """Messages with seq > after, oldest first, at most `limit`."""
        ...

    async def last_seq(self, order_id: str) -> int: ...

    async def page(self, order_id: str, after: int, limit: int) -> tuple[list[ChatMessage], int]:
        """`messages(order_id, after, limit)` and `last_seq(order_id)`, read in one step (a
        join's history and where it ends)."""
        ...

    async def advance_text_state(
        self, order_id: str, seq: int, state: SMSState, reason: str | None = None
    ) -> bool:
        """Moves a shopper message's SMS state forward (policy.receipts) and, when it moves,
        publishes a `receipt` frame (with `reason`, policy.receipt_reasons). Returns whether
        it moved."""
        ...
