"""MemoryChatLog: the chat log of embedded mode."""

from __future__ import annotations

import msgspec

from gateway import channels
from gateway.channels import OrderChannels
from gateway.chatlog.base import Answered, Owes, StaleOrder, proposal_answer
from gateway.jobs.debts import message_text_debt
from gateway.policy.receipts import SMSState, advances
from gateway.store.base import OrderNotFound
from gateway.store.memory import MemoryOrderStore
from gateway.store.records import ChatMessage


class _Log:
    __slots__ = ("messages", "by_client", "text_states")

    def __init__(self) -> None:
        self.messages: list[ChatMessage] = []
        self.by_client: dict[tuple[str, str], ChatMessage] = {}
        self.text_states: dict[int, SMSState] = {}


class MemoryChatLog:
    """Each order's chat in this process's memory, kept while the memory order store keeps
    the order. It publishes through the node's own broker, which hands a payload to every
    subscriber before `publish` returns, so frames go out in seq order."""

    def __init__(self, orders: MemoryOrderStore, publish: OrderChannels) -> None:
        self._orders = orders
        self._channels = publish
        self._logs: dict[str, _Log] = {}

    def _log(self, order_id: str) -> _Log | None:
        if not self._orders.alive(order_id):
            self._logs.pop(order_id, None)
            return None
        return self._logs.setdefault(order_id, _Log())

    def sweep(self) -> None:
        """Drops the logs of orders the order store no longer has."""
        for order_id in [i for i in self._logs if not self._orders.alive(i)]:
            del self._logs[order_id]

    async def append(
        self, order_id: str, message: ChatMessage, owes: Owes | None = None, version: int = 0
    ) -> tuple[ChatMessage, bool]:
        log = self._log(order_id)
        if log is None:
            raise OrderNotFound(order_id)
        key = (message.sender, message.client_id) if message.client_id is not None else None
        if key is not None and key in log.by_client:
            return log.messages[log.by_client[key].seq - 1], False  # as it is now (answered?)
        if version and self._orders.version_of(order_id) != version:
            raise StaleOrder(order_id)
        stored = msgspec.structs.replace(message, seq=len(log.messages) + 1)
        log.messages.append(stored)
        if key is not None:
            log.by_client[key] = stored
        if owes is not None and owes.text:
            debt = message_text_debt(order_id, owes.text_body(stored), stored.seq, stored.media, owes.held_until)
            self._orders.outbox.write(order_id, [debt])
        if owes is not None:
            log.text_states[stored.seq] = owes.state
        # Nothing is awaited before this point, so the message and its debts are one step.
        await self._channels.publish(order_id, channels.message_frame(order_id, stored))
        if owes is not None:
            frame = channels.receipt_frame(order_id, stored.seq, owes.state, owes.reason)
            await self._channels.publish(order_id, frame)
        return stored, True

    async def answer(self, order_id: str, message: ChatMessage) -> tuple[ChatMessage | None, Answered]:
        log = self._log(order_id)
        if log is None:
            raise OrderNotFound(order_id)
        key = (message.sender, message.client_id) if message.client_id is not None else None
        if key is not None and key in log.by_client:
            return log.messages[log.by_client[key].seq - 1], Answered.REPEAT
        assert message.answer is not None
        index = message.answer.seq - 1
        target = log.messages[index] if 0 <= index < len(log.messages) else None
        if target is None or target.proposal is None:
            return None, Answered.NO_PROPOSAL
        if target.proposal.answer is not None:
            return None, Answered.ALREADY
        # Nothing is awaited until both are stored, so the first answer wins in this process.
        answer = proposal_answer(message)
        proposal = msgspec.structs.replace(target.proposal, answer=answer)
        log.messages[index] = msgspec.structs.replace(target, proposal=proposal)
        stored = msgspec.structs.replace(message, seq=len(log.messages) + 1)
        log.messages.append(stored)
        if key is not None:
            log.by_client[key] = stored
        await self._channels.publish(order_id, channels.message_frame(order_id, stored))
        await self._channels.publish(order_id, channels.proposal_frame(order_id, target.seq, answer))
        return stored, Answered.NEW

    async def latest_open_proposal(self, order_id: str) -> ChatMessage | None:
        log = self._log(order_id)
        for message in reversed(log.messages if log is not None else []):
            if message.proposal is not None and message.proposal.answer is None:
                return message
        return None

    async def messages(self, order_id: str, after: int, limit: int) -> list[ChatMessage]:
        log = self._log(order_id)
        if log is None:
            return []
        return log.messages[max(0, after) : max(0, after) + limit]

    async def last_seq(self, order_id: str) -> int:
        log = self._log(order_id)
        return 0 if log is None else len(log.messages)

    async def page(self, order_id: str, after: int, limit: int) -> tuple[list[ChatMessage], int]:
        return await self.messages(order_id, after, limit), await self.last_seq(order_id)

    async def advance_text_state(
        self, order_id: str, seq: int, state: SMSState, reason: str | None = None
    ) -> bool:
        log = self._log(order_id)
        if log is None or not advances(log.text_states.get(seq), state):
            return False
        log.text_states[seq] = state
        await self._channels.publish(order_id, channels.receipt_frame(order_id, seq, state, reason))
        return True
