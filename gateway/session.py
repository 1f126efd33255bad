"""Session: one accepted WebSocket, from its first frame to its close (contract section 6).
It reads and handles the client's frames; what the socket is sent goes through its Relay."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import msgspec
from starlette.websockets import WebSocket

from gateway import messages
from gateway.broker.base import BrokerUnavailable
from gateway.capacity import Overloaded
from gateway.chatlog.base import Answered, StaleOrder
from gateway.lane import Lane
from gateway.policy.chat import (
    MAX_TEXT, Bucket, ErrorCode, Role, Via, may_join, media_error, send_error, take, text_error,
)
from gateway.policy.proposals import Refusal, answer_error, proposal_error
from gateway.relay import Relay
from gateway.store.base import StoreUnavailable
from gateway.store.records import ChatMessage, OrderRecord, Proposal

if TYPE_CHECKING:
    from gateway.services import Services

log = logging.getLogger("gateway.sockets")

MAX_JOINED = 50  # orders one socket may follow at once (a batched shop is a handful)
INBOX = 1000  # frames read from one socket and not yet handled, past which it is told overloaded

# Frames whose handling is timed, from the socket reading them to their message stored and
# published on the order's channel (relayed to every node) and acked.
_TIMED = {messages.Send: "send", messages.Propose: "propose", messages.Answer: "answer"}


class Session:
    """One socket. The reader reads and decodes client frames and queues them, stamped with
    when they came (`inbox`, a Lane: an idle socket holds no task and no queue); they are
    handled one after another, and a send that waited longer than the node's
    `Capacity.wait` is answered `overloaded` without being tried. Everything the socket is
    sent goes through `relay`, its only writer, which is also its sink in the hub."""

    __slots__ = (
        "ws", "role", "subject", "services", "store", "log", "rate", "via", "socket_id", "inbox", "relay",
        "attached", "buckets",
    )

    def __init__(self, websocket: WebSocket, role: Role, subject: str, services: Services) -> None:
        self.ws = websocket
        self.role = role
        self.subject = subject
        self.services = services
        self.store = services.store
        self.log = services.chat_log
        self.rate = services.settings.limits.chat_per_second
        self.via = Via.WEB if role is Role.CUSTOMER else Via.APP
        self.inbox: Lane[tuple[float, messages.ClientMessage]] = Lane(self._handle_arrived, INBOX)
        self.relay = Relay(websocket, role, services)
        self.attached: set[str] = set()  # orders joined in the hub
        self.buckets: dict[str, Bucket | None] = {}
        self.socket_id = uuid.uuid4().hex  # names a customer socket in the shared presence

    def reply(self, frame: msgspec.Struct) -> None:
        self.relay.reply(frame)

    def error(
        self, code: ErrorCode, message: str, client_id: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        self.relay.error(code, message, client_id, retry_after_ms)

    # lifecycle

    async def run(self) -> None:
        try:
            await self._read()
        finally:
            self.relay.end()  # the reader is done: nothing more is written
            await self.inbox.stop(finish_current=True)  # a send under way is stored or not, whole
            for order_id in list(self.attached):
                await self._detach(order_id)
            await self.relay.stop()

    async def _read(self) -> None:
        while True:
            event = await self.ws.receive()
            if event["type"] == "websocket.disconnect":
                return
            text = event.get("text")
            if text is None:
                self.error(ErrorCode.BAD_FRAME, "expected a JSON text frame, got a binary one")
                continue
            try:
                frame = messages.decode_client(text)
            except msgspec.DecodeError as exc:
                self.error(ErrorCode.BAD_FRAME, f"expected a client frame of contract section 6: {exc}")
                continue
            if not self.inbox.put((self.services.monotonic(), frame)):
                self._overloaded(frame, f"{INBOX} frames from this socket waiting")

    def _overloaded(self, frame: messages.ClientMessage, why: str) -> None:
        self._busy(frame, self.services.refusals.refused(self.services.capacity, why))

    def _busy(self, frame: messages.ClientMessage, exc: Overloaded) -> None:
        client_id = getattr(frame, "client_id", None)
        self.error(ErrorCode.OVERLOADED, f"the gateway is busy: {exc}", client_id, exc.retry_after_ms)

    async def _handle_arrived(self, arrived: tuple[float, messages.ClientMessage]) -> bool | None:
        """Handles one frame the reader queued; False once the socket is gone."""
        if self.relay.ended:
            return False
        at, frame = arrived
        wait = self.services.capacity.wait
        if isinstance(frame, messages.Send) and self.services.monotonic() - at > wait:
            self._overloaded(frame, f"a send waited over {wait:g} s behind this socket's others")
            return None
        try:
            await self._handle(frame)
            if (timed := _TIMED.get(type(frame))) is not None:
                self.services.metrics.send_seconds.labels(timed).observe(self.services.monotonic() - at)
        except Overloaded as exc:  # Redis answers; this node is past what it can take
            self._busy(frame, exc)
        except (StoreUnavailable, BrokerUnavailable, ConnectionError):
            client_id = getattr(frame, "client_id", None)
            self.error(ErrorCode.UNAVAILABLE, "the gateway cannot reach its store; try again", client_id)
        except Exception:
            # A bug or an unexpected store answer: this frame fails, the socket does not.
            log.exception(
                "could not handle a %s frame", type(frame).__name__,
                extra={"order_id": getattr(frame, "order_id", None)},
            )
            client_id = getattr(frame, "client_id", None)
            self.error(ErrorCode.UNAVAILABLE, "the gateway could not handle that frame; try again", client_id)
        return None

    async def _handle(self, frame: messages.ClientMessage) -> None:
        match frame:
            case messages.Ping():
                self.reply(messages.Pong())
            case messages.Join():
                await self._join(frame)
            case messages.Leave():
                await self._leave(frame.order_id)
            case messages.Send():
                await self._send(frame)
            case messages.Propose():
                await self._propose(frame)
            case messages.Answer():
                await self._answer(frame)
            case messages.Typing():
                if self._joined(frame.order_id):
                    await self.services.channels.typing(frame.order_id, self.role)
            case messages.Presence():
                if self.role is not Role.CUSTOMER:
                    self.error(ErrorCode.NOT_AUTHORIZED, "presence is the customer's page's to say")
                elif self._joined(frame.order_id):
                    await self.services.presence.seen(frame.order_id, self.socket_id, frame.visible)
            case messages.Read():
                if self._joined(frame.order_id):
                    if self.role is Role.CUSTOMER:
                        await self.services.presence.read(frame.order_id, frame.seq)  # held texts it covers stay unsent
                    await self.services.channels.read(frame.order_id, self.role, frame.seq)

    def _joined(self, order_id: str, client_id: str | None = None) -> bool:
        if order_id in self.attached:
            return True
        self.error(ErrorCode.NOT_JOINED, f"join order {order_id!r} first", client_id)
        return False

    def _may_join(self, order: OrderRecord) -> bool:
        shopper_id = order.shopper.id if order.shopper else None
        return may_join(self.role, self.subject, order.id, shopper_id)

    async def _join(self, frame: messages.Join) -> None:
        order = await self.services.hub.order(frame.order_id, self.store.get_order)
        if order is None or not self._may_join(order):
            self.error(ErrorCode.NOT_AUTHORIZED, f"this token may not join order {frame.order_id!r}")
            return
        await self._leave(frame.order_id)  # a second join restarts the subscription
        if len(self.attached) >= MAX_JOINED:
            self.error(ErrorCode.BAD_FRAME, f"expected at most {MAX_JOINED} joined orders; leave one first")
            return
        await self.services.hub.join(frame.order_id, self.relay)
        self.attached.add(frame.order_id)
        if self.role is Role.CUSTOMER:  # a join counts as in view until the page says otherwise
            await self.services.presence.seen(frame.order_id, self.socket_id, True)
        self.relay.joining(frame.order_id, frame.after)

    async def _leave(self, order_id: str) -> None:
        if order_id in self.attached:
            await self._detach(order_id)
            self.relay.left(order_id)

    async def _detach(self, order_id: str) -> None:
        self.attached.discard(order_id)
        self.services.hub.leave(order_id, self.relay)
        if self.role is Role.CUSTOMER:
            await self.services.presence.gone(order_id, self.socket_id)

    async def _send(self, frame: messages.Send) -> None:
        if not self._joined(frame.order_id, frame.client_id):
            return
        photo_ids = frame.media or []
        problem = text_error(frame.text, len(photo_ids))
        if problem is not None:
            detail = "expected 1 to 1000 characters of text" if not photo_ids else "expected at most 1000 characters"
            self.error(problem, f"{detail}, got {len(frame.text)}", frame.client_id)
            return
        await self._post(frame.order_id, frame.client_id, frame.text, photo_ids)

    async def _propose(self, frame: messages.Propose) -> None:
        """A shopper's replacement proposal: checked, then posted as `send` posts a message."""
        if self.role is not Role.SHOPPER:
            self.error(ErrorCode.NOT_AUTHORIZED, "only a shopper may propose a replacement", frame.client_id)
            return
        if not self._joined(frame.order_id, frame.client_id):
            return
        note = (frame.text or "").strip()
        refusal = proposal_error(frame.item, frame.options)
        if refusal is None and len(note) > MAX_TEXT:
            refusal = Refusal(ErrorCode.TOO_LONG, f"expected at most {MAX_TEXT} characters of text, got {len(note)}")
        if refusal is not None:
            self.error(refusal.code, refusal.message, frame.client_id)
            return
        proposal = Proposal(item=frame.item.strip(), options=[option.strip() for option in frame.options])
        await self._post(frame.order_id, frame.client_id, note, frame.media or [], proposal)

    async def _post(
        self, order_id: str, client_id: str, text: str, photo_ids: list[str], proposal: Proposal | None = None
    ) -> None:
        """Stores a message (with its photos, and its proposal if any) once the order lets
        this socket chat, and acks it: the one path of `send` and `propose`."""
        bad_media = media_error(photo_ids)
        if bad_media is not None:
            self.error(ErrorCode.BAD_MEDIA, bad_media, client_id)
            return
        order = await self._chat_order(order_id, client_id)
        if order is None:
            return
        media = await self.services.photos.refs(order, photo_ids) if photo_ids else None
        if photo_ids and media is None:
            self.error(ErrorCode.BAD_MEDIA, f"expected ids of photos uploaded to order {order.id!r}", client_id)
            return
        acked = False

        def ack(message: ChatMessage) -> None:
            nonlocal acked
            acked = True
            self.reply(messages.Ack(client_id=client_id, message=message))

        async def post(order: OrderRecord, as_read: bool) -> None:
            await self.services.chat.post(
                order, self.role, self.via, text, client_id, media=media, proposal=proposal, on_stored=ack,
                as_read=as_read,
            )

        try:
            try:
                await post(order, as_read=True)  # decided on this node's copy of the record
            except StaleOrder:
                # The copy was behind the record (changed through another node, whose note
                # has not arrived yet): nothing was stored; decide again on the record as it is.
                self.services.hub.forget_order(order_id)
                order = await self._chat_order(order_id, client_id, counted=False)
                if order is not None:
                    await post(order, as_read=False)
        except ConnectionError as exc:  # Overloaded too
            if not acked:
                raise
            # Stored and acked: an error now would read as "not sent" to a client that has
            # the ack. What failed is after the store (the text's bookkeeping).
            log.warning("a chat message was stored and acked, but its follow-up failed (%s)", type(exc).__name__)

    async def _chat_order(self, order_id: str, client_id: str, counted: bool = True) -> OrderRecord | None:
        """The order, when this socket may write in its chat now (rate limit unless the send
        was `counted` already, still its order, chat open); else None, the reason sent as an
        error frame."""
        if counted:
            bucket, allowed = take(self.buckets.get(order_id), self.services.monotonic(), self.rate)
            self.buckets[order_id] = bucket
            if not allowed:
                self.error(ErrorCode.RATE_LIMITED, f"at most {self.rate:g} messages a second", client_id)
                return None
        order = await self.services.hub.order(order_id, self.store.get_order)  # a copy, kept current
        if order is None:
            self.error(ErrorCode.CHAT_CLOSED, "this order's chat has been purged", client_id)
            return None
        if not self._may_join(order):  # e.g. the order was reassigned to another shopper
            self.error(ErrorCode.NOT_AUTHORIZED, "this order is no longer yours to chat in", client_id)
            return None
        state = self.services.orders.chat_state(order)
        problem = send_error(state)
        if problem is not None:
            self.error(problem, f"chat is {state.value}", client_id)
            return None
        return order

    async def _answer(self, frame: messages.Answer) -> None:
        """The customer answers a proposal; the chat log decides, atomically, whether it is
        the first answer (then everyone hears a `proposal` frame) or too late."""
        if self.role is not Role.CUSTOMER:
            self.error(ErrorCode.NOT_AUTHORIZED, "only the customer may answer a proposal", frame.client_id)
            return
        if not self._joined(frame.order_id, frame.client_id):
            return
        order = await self._chat_order(frame.order_id, frame.client_id)
        if order is None:
            return
        found = await self.log.messages(order.id, frame.seq - 1, 1) if frame.seq >= 1 else []
        target = found[0] if found and found[0].seq == frame.seq else None
        if target is None or target.proposal is None:
            self.error(ErrorCode.BAD_FRAME, f"expected the seq of a proposal, got {frame.seq}", frame.client_id)
            return
        # Whether it is answered already is the chat log's to say (a retried client_id is
        # acked again), so only the choice is checked here.
        refusal = answer_error(len(target.proposal.options), frame.choice, answered=False)
        if refusal is not None:
            self.error(refusal.code, refusal.message, frame.client_id)
            return
        _, outcome = await self.services.chat.answer(
            order, self.via, target, frame.choice, frame.client_id,
            on_stored=lambda message: self.reply(messages.Ack(client_id=frame.client_id, message=message)),
        )
        if outcome is Answered.ALREADY:
            self.error(ErrorCode.ALREADY_ANSWERED, f"proposal {frame.seq} was answered already", frame.client_id)
