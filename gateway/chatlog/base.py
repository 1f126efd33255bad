"""The ChatLog seam: an order's chat, the only code that both assigns a seq and publishes."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

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


class ChatLog(Protocol):
    """Each order's messages, numbered, and the SMS state of each shopper message.

    Guarantees every implementation keeps:
    - `append` is atomic: the next seq (per order, from 1, no gaps), the message stored, its
      (sender, client_id) remembered so a retry returns the same message, and its `message`
      frame published on the order's channel, all before it returns, and in seq order.
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

    async def append(self, order_id: str, message: ChatMessage) -> tuple[ChatMessage, bool]:
        """Stores `message` (its seq is ignored) with the next seq. Returns the stored message
        and whether it is new (False: a retried client_id, answered with the first one)."""
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

    async def advance_text_state(self, order_id: str, seq: int, state: SMSState) -> bool:
        """Moves a shopper message's SMS state forward (policy.receipts) and, when it moves,
        publishes a `receipt` frame. Returns whether it moved."""
        ...
