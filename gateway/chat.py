"""Chat: storing a message from any side, and carrying a shopper's message to a phone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from gateway.chatlog.base import ChatLog
from gateway.chatlog.base import Answered
from gateway.clock import iso
from gateway.policy import proposals
from gateway.templates import SHOPPER_FALLBACK
from gateway.metrics import Metrics
from gateway.policy.chat import Role, Via
from gateway.store.records import AnswerRef, ChatMessage, MediaRef, OrderRecord, Proposal
from gateway.texting import Texter


class Chat:
    """One way in for every chat message, whatever it came through (app, web, sms): stored
    with the next seq and published to every node in one ChatLog call, then, when a shopper
    wrote it, queued as a text for the customer."""

    def __init__(
        self, log: ChatLog, texter: Texter, metrics: Metrics, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._log = log
        self._texter = texter
        self._metrics = metrics
        self._clock = clock

    async def post(
        self,
        order: OrderRecord,
        sender: Role,
        via: Via,
        text: str,
        client_id: str | None = None,
        *,
        media: list[MediaRef] | None = None,
        proposal: Proposal | None = None,
        on_stored: Callable[[ChatMessage], None] | None = None,
    ) -> tuple[ChatMessage, bool]:
        """Returns the stored message and whether it is new (False: a retried client_id).
        `on_stored` runs as soon as the message is stored, before it is queued as a text, so
        a sender's ack does not wait on SMS bookkeeping."""
        draft = ChatMessage(
            seq=0, id=uuid.uuid4().hex, sender=sender, via=via, text=text, at=iso(self._clock()), client_id=client_id,
            media=media or None, proposal=proposal,
        )
        message, created = await self._log.append(order.id, draft)
        if on_stored is not None:
            on_stored(message)
        if created:
            self._metrics.messages.labels(via).inc()
            if sender is Role.SHOPPER:
                await self._texter.relay(order, message.seq, sms_body(order, message), message.media)
        return message, created

    async def latest_open_proposal(self, order_id: str) -> ChatMessage | None:
        return await self._log.latest_open_proposal(order_id)

    async def answer(
        self,
        order: OrderRecord,
        via: Via,
        proposal: ChatMessage,
        choice: int,
        client_id: str | None = None,
        *,
        on_stored: Callable[[ChatMessage], None] | None = None,
    ) -> tuple[ChatMessage | None, Answered]:
        """The customer answers `proposal` (a message that carries one; the caller checked
        `choice` against its options): decided in the chat log, atomically, so the first
        answer on any node or channel wins. Returns the answer message (None unless NEW or
        REPEAT) and what happened."""
        assert proposal.proposal is not None
        draft = ChatMessage(
            seq=0, id=uuid.uuid4().hex, sender=Role.CUSTOMER, via=via,
            text=proposals.choice_in_words(proposal.proposal.options, choice), at=iso(self._clock()),
            client_id=client_id, answer=AnswerRef(seq=proposal.seq, choice=choice),
        )
        message, outcome = await self._log.answer(order.id, draft)
        if message is not None and on_stored is not None:
            on_stored(message)
        if outcome is Answered.NEW:
            self._metrics.messages.labels(via).inc()
        return message, outcome


def sms_body(order: OrderRecord, message: ChatMessage) -> str:
    """What a shopper's message says as a text: its words, or a proposal's own wording."""
    if message.proposal is None:
        return message.text
    shopper = order.shopper.name if order.shopper else SHOPPER_FALLBACK
    found = message.proposal
    return proposals.proposal_text(shopper, found.item, found.options, message.text or None)
