"""Chat: storing a message from any side, and carrying a shopper's message to a phone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from gateway.chatlog.base import ChatLog
from gateway.clock import iso
from gateway.metrics import Metrics
from gateway.policy.chat import Role, Via
from gateway.store.records import ChatMessage, MediaRef, OrderRecord
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
        on_stored: Callable[[ChatMessage], None] | None = None,
    ) -> tuple[ChatMessage, bool]:
        """Returns the stored message and whether it is new (False: a retried client_id).
        `on_stored` runs as soon as the message is stored, before it is queued as a text, so
        a sender's ack does not wait on SMS bookkeeping."""
        draft = ChatMessage(
            seq=0, id=uuid.uuid4().hex, sender=sender, via=via, text=text, at=iso(self._clock()), client_id=client_id,
            media=media or None,
        )
        message, created = await self._log.append(order.id, draft)
        if on_stored is not None:
            on_stored(message)
        if created:
            self._metrics.messages.labels(via).inc()
            if sender is Role.SHOPPER:
                await self._texter.relay(order, message.seq, message.text, message.media)
        return message, created
