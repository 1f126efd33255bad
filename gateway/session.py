"""Session: one accepted WebSocket, from its first frame to its close (contract section 6)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway import closecodes, messages
from gateway.backoff import backoff
from gateway.broker.base import BrokerUnavailable
from gateway.capacity import Overloaded
from gateway.lane import Lane
from gateway.messages import ChannelHeader
from gateway.policy.audience import hears
from gateway.chatlog.base import Answered
from gateway.policy.chat import (
    MAX_TEXT, Bucket, ErrorCode, Role, Via, may_join, media_error, send_error, take, text_error,
)
from gateway.policy.proposals import Refusal, answer_error, proposal_error
from gateway.store.base import StoreUnavailable
from gateway.store.records import ChatMessage, OrderRecord, Proposal

if TYPE_CHECKING:
    from gateway.services import Services

log = logging.getLogger("gateway.sockets")

MAX_JOINED = 50  # orders one socket may follow at once (a batched shop is a handful)
OUTBOX = 1000  # frames queued for one socket before it counts as stalled
INBOX = 1000  # frames read from one socket and not yet handled, past which it is told overloaded
HISTORY = 5000  # messages a join replays at most
RESYNC_ATTEMPTS = 6  # tries at catching up after an outage (0.1 s doubling: ~6 s in all)
STALL_GRACE = 2.0  # seconds a stalled socket's close may take before its connection is cut


# What the relay (the socket's only writer) takes from the outbox, in order.


# Frames whose handling is timed, from the socket reading them to their message stored and
# published on the order's channel (relayed to every node) and acked.
_TIMED = {messages.Send: "send", messages.Propose: "propose", messages.Answer: "answer"}


class _Direct(msgspec.Struct, frozen=True):
    """An encoded frame for this socket alone (a reply: ack, error, pong)."""

    payload: bytes


class _Joining(msgspec.Struct, frozen=True):
    """The subscription is live: send `joined` with the history after `after`."""

    order_id: str
    after: int


class _Left(msgspec.Struct, frozen=True):
    order_id: str


class _Resync(msgspec.Struct, frozen=True):
    """The node's subscription came back after an outage: catch up from the chat log."""

    order_id: str
    attempt: int = 0


class _Published(msgspec.Struct, frozen=True):
    """A frame from the order's channel, as the hub delivers it."""

    header: ChannelHeader
    payload: bytes


_Item = _Direct | _Joining | _Left | _Resync | _Published


class Session:
    """One socket. The reader reads and decodes client frames and queues them, stamped with
    when they came (`inbox`); they are handled one after another, and a send that waited
    longer than the node's `Capacity.wait` is answered `overloaded` without being tried. The
    relay is the only writer, taking frames from one queue (`outbox`: replies, and what the
    hub delivers) so each order's messages go out in seq order, once: it drops a seq it
    already sent and fills a gap from the Store. Both are Lanes: an idle socket holds no
    task and no queue."""

    __slots__ = (
        "ws", "role", "subject", "services", "store", "log", "rate", "via", "socket_id", "inbox",
        "outbox", "ended", "attached", "sent_seq", "buckets", "closing",
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
        self.outbox: Lane[_Item] = Lane(self._relay_item, OUTBOX)
        self.ended = False  # the reader is done: nothing more is written
        self.attached: set[str] = set()  # reader side: orders joined in the hub
        self.sent_seq: dict[str, int] = {}  # relay side: last seq sent per joined order
        self.buckets: dict[str, Bucket | None] = {}
        self.closing: asyncio.Task | None = None  # set once the socket is closed for stalling
        self.socket_id = uuid.uuid4().hex  # names a customer socket in the shared presence

    # hub -> socket (called by the hub; must not block)

    def deliver(self, header: ChannelHeader, payload: bytes) -> None:
        if hears(self.role, header.type, header.sender, header.by):
            self._queue(_Published(header, payload))

    def resync(self, order_id: str, attempt: int = 0) -> None:
        self._queue(_Resync(order_id, attempt))

    def _queue(self, item: _Item) -> None:
        if self.ended or self.outbox.stopped:
            return
        if not self.outbox.put(item) and self.closing is None:
            log.warning("closing a stalled %s socket; it will resume with after=", self.role.value)
            self.services.metrics.stalled_sockets.inc()
            self.closing = asyncio.create_task(self._cut_off())

    async def _cut_off(self) -> None:
        """Closes a socket that stopped reading (4008). The close frame queues behind the
        bytes it does not read, so should the connection still be there after STALL_GRACE,
        it is aborted: its buffers, its reader and its subscriptions go at once."""
        try:
            await asyncio.wait_for(self.ws.close(code=closecodes.SLOW_CONSUMER), STALL_GRACE)
            await asyncio.sleep(STALL_GRACE)  # time for a slow reader to take the close
        except Exception:  # a close that cannot be written now, or a socket already gone
            pass
        transport = _transport_of(self.ws)
        if transport is not None and (not transport.is_closing() or transport.get_write_buffer_size()):
            transport.abort()

    def reply(self, frame: msgspec.Struct) -> None:
        self._queue(_Direct(messages.encode(frame)))

    def error(
        self, code: ErrorCode, message: str, client_id: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        self.services.metrics.frames.labels(code.value).inc()
        self.reply(messages.ErrorFrame(code=code, message=message, client_id=client_id, retry_after_ms=retry_after_ms))

    # lifecycle

    async def run(self) -> None:
        try:
            await self._read()
        finally:
            self.ended = True
            await self.inbox.stop(finish_current=True)  # a send under way is stored or not, whole
            for order_id in list(self.attached):
                await self._detach(order_id)
            await self.outbox.stop(finish_current=False)

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
        if self.ended:
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
        await self.services.hub.join(frame.order_id, self)
        self.attached.add(frame.order_id)
        if self.role is Role.CUSTOMER:  # a join counts as in view until the page says otherwise
            await self.services.presence.seen(frame.order_id, self.socket_id, True)
        # Live from here: what the hub delivers from now on queues behind this join, and the
        # relay reads history only when it reaches it, so nothing falls between the two.
        self._queue(_Joining(frame.order_id, frame.after))

    async def _leave(self, order_id: str) -> None:
        if order_id in self.attached:
            await self._detach(order_id)
            self._queue(_Left(order_id))

    async def _detach(self, order_id: str) -> None:
        self.attached.discard(order_id)
        self.services.hub.leave(order_id, self)
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

        try:
            await self.services.chat.post(
                order, self.role, self.via, text, client_id, media=media, proposal=proposal, on_stored=ack
            )
        except ConnectionError as exc:  # Overloaded too
            if not acked:
                raise
            # Stored and acked: an error now would read as "not sent" to a client that has
            # the ack. What failed is after the store (the text's bookkeeping).
            log.warning("a chat message was stored and acked, but its follow-up failed (%s)", type(exc).__name__)

    async def _chat_order(self, order_id: str, client_id: str) -> OrderRecord | None:
        """The order, when this socket may write in its chat now (rate limit, still its
        order, chat open); else None, the reason sent as an error frame."""
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

    # the relay: the socket's only writer

    async def _relay_item(self, item: _Item) -> bool | None:
        try:
            await self._relay_one(item)
        except (WebSocketDisconnect, OSError):
            self.ended = True  # the socket closed; the reader sees it too
            return False
        except Exception:
            if WebSocketState.DISCONNECTED in (self.ws.client_state, self.ws.application_state):
                self.ended = True  # Starlette's RuntimeError for a send after close
                return False
            # The store answered something unexpected: this frame is lost to this socket
            # (a rejoin with after= recovers it), but the socket's only writer lives on.
            log.exception("could not relay a %s to a %s socket", type(item).__name__, self.role.value)
            if isinstance(item, _Joining):
                self.error(ErrorCode.UNAVAILABLE, f"could not join order {item.order_id!r}; join again")
        return None

    async def _relay_one(self, item: _Item) -> None:
        match item:
            case _Direct(payload):
                await self.ws.send_text(payload.decode())
            case _Joining(order_id, after):
                await self._send_joined(order_id, after)
            case _Left(order_id):
                self.sent_seq.pop(order_id, None)
            case _Resync(order_id, attempt):
                if order_id in self.sent_seq:
                    await self._resync(order_id, attempt)
            case _Published(header, payload):
                last = self.sent_seq.get(header.order_id)
                if last is None:
                    return  # not joined (yet, or any more): the join's history covers it
                if header.type != "message" or header.message is None:
                    await self.ws.send_text(payload.decode())
                    return
                seq = header.message.seq
                if seq <= last:
                    return
                if seq > last + 1:
                    await self._catch_up(header.order_id, seq - 1)
                    if self.sent_seq.get(header.order_id, 0) >= seq:
                        return
                await self.ws.send_text(payload.decode())
                self.sent_seq[header.order_id] = seq

    async def _send_joined(self, order_id: str, after: int) -> None:
        try:
            order = await self.services.hub.order(order_id, self.store.get_order)
            history, last_seq = await self.log.page(order_id, after, HISTORY)
            if history:
                last_seq = history[-1].seq  # a longer history is filled in as the next message comes
        except Overloaded as exc:
            self.error(ErrorCode.OVERLOADED, f"the gateway is busy; join order {order_id!r} again", None, exc.retry_after_ms)
            return
        except (StoreUnavailable, ConnectionError):
            self.error(ErrorCode.UNAVAILABLE, "the gateway cannot reach its store; join again")
            return
        if order is None:
            self.error(ErrorCode.NOT_AUTHORIZED, f"order {order_id!r} is gone")
            return
        joined = messages.Joined(
            order_id=order_id, order=self.services.orders.summary(order), history=history, last_seq=last_seq,
            history_lost=after > last_seq,
        )
        await self.ws.send_text(messages.encode(joined).decode())
        self.sent_seq[order_id] = last_seq

    async def _resync(self, order_id: str, attempt: int) -> None:
        """The node's subscription came back after an outage: send what was missed. When the
        store now has fewer messages than this socket has seen, the history was lost (a Redis
        that kept no data): the client is told, not left with a silent hole."""
        try:
            last = await self.log.last_seq(order_id)
        except (StoreUnavailable, ConnectionError):
            # The store's first answer after an outage may come on a connection that died in
            # it: try again shortly, a few times, without holding up this socket's frames.
            if attempt < RESYNC_ATTEMPTS:
                delay = backoff(attempt, 0.1, 6.4, jitter=False)
                asyncio.get_running_loop().call_later(delay, self.resync, order_id, attempt + 1)
            return
        if last >= self.sent_seq[order_id]:
            await self._catch_up(order_id, None)
            return
        self.error(
            ErrorCode.HISTORY_LOST,
            f"order {order_id!r} lost its chat history after seq {last}: join again to see what is left",
        )
        self.sent_seq[order_id] = last

    async def _catch_up(self, order_id: str, upto: int | None) -> None:
        """Sends what the Store has after the last seq sent (up to `upto`), in order."""
        last = self.sent_seq[order_id]
        limit = HISTORY if upto is None else upto - last
        try:
            missing: list[ChatMessage] = await self.log.messages(order_id, last, limit)
        except (StoreUnavailable, ConnectionError):
            return  # the next frame or resync tries again
        for message in missing:
            frame = messages.MessageFrame(order_id=order_id, message=message)
            await self.ws.send_text(messages.encode(frame).decode())
            self.sent_seq[order_id] = message.seq


def _transport_of(ws: WebSocket) -> asyncio.Transport | None:
    """The connection under a Starlette WebSocket, to abort it. ASGI offers no way, so this
    follows the socket's `send` to the server's protocol object (uvicorn's: a bound method,
    maybe inside Starlette's wrapping closures) and takes its `transport`."""
    found: list = [ws._send]
    for _ in range(6):
        nested = []
        for send in found:
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None and hasattr(transport, "abort"):
                return transport
            for cell in getattr(send, "__closure__", None) or ():
                try:
                    if callable(cell.cell_contents):
                        nested.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    continue
        found = nested
    return None
