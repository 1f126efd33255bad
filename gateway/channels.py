"""Order channels: the one place that names them and encodes what travels on them.

Every frame kind has one publisher. The chat log publishes `message`, `receipt` and
`proposal` frames in the same step that stores them (it builds them with
`message_frame_parts`, `receipt_frame` and `proposal_frame`, so it need not know the wire); `OrderChannels` publishes the rest:
`status` for Orders, `typing` and `read` for sockets. Frames are encoded once, and a node
hands the bytes it receives to its sockets as they are."""

from __future__ import annotations

from gateway import messages
from gateway.broker.base import Broker
from gateway.policy.chat import Role
from gateway.policy.receipts import SMSState
from gateway.store.keys import order_tag
from gateway.store.records import ChatMessage, ProposalAnswer

_SEQ_PREFIX = b'{"seq":0'


def order_channel(order_id: str) -> str:
    return f"{order_tag(order_id)}:frames"


def message_frame(order_id: str, message: ChatMessage) -> bytes:
    return messages.encode(messages.MessageFrame(order_id=order_id, message=message))


def message_frame_parts(order_id: str, unnumbered: ChatMessage) -> tuple[bytes, bytes]:
    """For a chat log that assigns the seq as it stores (a Lua script): the message's JSON
    after its seq, and the `message` frame up to the message. Splicing `{"seq":N` + tail
    gives the stored message, and head + that + `}` exactly `message_frame` of it."""
    message = messages.encode(unnumbered)
    frame = message_frame(order_id, unnumbered)
    if not message.startswith(_SEQ_PREFIX) or not frame.endswith(message + b"}"):
        raise AssertionError(f"expected seq first and message last in a frame, got {frame!r}")
    return message[len(_SEQ_PREFIX) :], frame[: len(frame) - len(message) - 1]


def proposal_frame(order_id: str, seq: int, answer: ProposalAnswer) -> bytes:
    return messages.encode(messages.ProposalFrame(order_id=order_id, seq=seq, answer=answer))


def receipt_frame(order_id: str, seq: int, state: SMSState, reason: str | None = None) -> bytes:
    return messages.encode(messages.Receipt(order_id=order_id, seq=seq, sms=state, reason=reason))


_RECEIPT_SEQ = b',"seq":0,'


def receipt_frame_parts(order_id: str, state: SMSState, reason: str | None = None) -> tuple[bytes, bytes]:
    """For a chat log that assigns the seq as it stores: the `receipt` frame before its seq
    and after it, so head + N + tail is exactly `receipt_frame` of seq N."""
    frame = receipt_frame(order_id, 0, state, reason)
    head, found, tail = frame.partition(_RECEIPT_SEQ)
    if not found or _RECEIPT_SEQ in tail:
        raise AssertionError(f"expected one seq in a receipt frame, got {frame!r}")
    return head + b',"seq":', b"," + tail


class OrderChannels:
    """Publishes the frames that are not the chat log's."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    async def publish(self, order_id: str, frame: bytes) -> None:
        """For the memory chat log, which publishes through the node's own broker."""
        await self._broker.publish(order_channel(order_id), frame)

    async def status(
        self, order_id: str, status: str, chat: str, shopper: messages.ShopperName | None = None
    ) -> None:
        frame = messages.StatusFrame(order_id=order_id, status=status, chat=chat, shopper=shopper)
        await self.publish(order_id, messages.encode(frame))

    async def typing(self, order_id: str, sender: Role) -> None:
        await self.publish(order_id, messages.encode(messages.TypingFrame(order_id=order_id, sender=sender)))

    async def read(self, order_id: str, by: Role, seq: int) -> None:
        await self.publish(order_id, messages.encode(messages.ReadFrame(order_id=order_id, by=by, seq=seq)))
