"""Chat: storing a message from any side, and carrying a shopper's message to a phone."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import msgspec

from gateway.chatlog.base import Answered, ChatLog
from gateway.clock import iso
from gateway.jobs.debts import message_text_debt
from gateway.jobs.outbox import Drainer
from gateway.metrics import Metrics
from gateway.policy import proposals
from gateway.policy.chat import Role, Via
from gateway.store.records import AnswerRef, ChatMessage, MediaRef, OrderRecord, Proposal
from gateway.templates import SHOPPER_FALLBACK
from gateway.texting import Texter

log = logging.getLogger("gateway.chat")


class Chat:
    """One way in for every chat message, whatever it came through (app, web, sms): stored
    with the next seq and published to every node in one ChatLog call, together with what a
    shopper's message owes (its text, in the order's outbox), which this node then hands to
    the job queue at once. Should it die before, another node's Drainer does."""

    def __init__(
        self,
        log: ChatLog,
        texter: Texter,
        drainer: Drainer,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._log = log
        self._texter = texter
        self._drainer = drainer
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
        as_read: bool = False,
    ) -> tuple[ChatMessage, bool]:
        """Returns the stored message and whether it is new (False: a retried client_id).
        `on_stored` runs as soon as the message and its debts are stored, before they are
        queued, so a sender's ack does not wait on SMS bookkeeping. `as_read`: `order` is a
        copy, and the message is stored only if the record is still as read (else
        StaleOrder, and nothing is stored)."""
        draft = ChatMessage(
            seq=0, id=uuid.uuid4().hex, sender=sender, via=via, text=text, at=iso(self._clock()), client_id=client_id,
            media=media or None, proposal=proposal,
        )
        owes = await self._texter.owes(order) if sender is Role.SHOPPER else None
        if owes is not None and proposal is not None:
            owes = msgspec.structs.replace(owes, body=proposal_sms(order, draft))
        message, created = await self._log.append(order.id, draft, owes, order.version if as_read else 0)
        if on_stored is not None:
            on_stored(message)
        if created:
            self._metrics.messages.labels(via).inc()
            if owes is not None:
                self._metrics.texts.labels(owes.state).inc()
        if owes is not None and owes.text:
            # New: queue the text just written. A retry: queue whatever the order still owes
            # (the node that stored the first attempt may have died before queuing it).
            body = owes.text_body(message)
            debt = message_text_debt(order.id, body, message.seq, message.media, owes.held_until)
            debts = [debt] if created else None
            try:
                await self._drainer.drain(order.id, debts)
            except (ConnectionError, OSError) as exc:
                log.warning("could not queue a text yet (%s); the outbox keeps it", type(exc).__name__)
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


def proposal_sms(order: OrderRecord, message: ChatMessage) -> str:
    """A proposal's text in its own words (policy.proposals), naming the shopper."""
    assert message.proposal is not None
    shopper = order.shopper.name if order.shopper else SHOPPER_FALLBACK
    found = message.proposal
    return proposals.proposal_text(shopper, found.item, found.options, message.text or None)
