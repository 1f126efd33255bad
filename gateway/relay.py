"""Relay: the one writer of an accepted WebSocket (contract section 6). What the socket is
sent (replies, `joined` with its history, what the hub delivers) goes through its outbox, so
each order's messages go out in seq order, once."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway import closecodes, messages
from gateway.backoff import backoff
from gateway.capacity import Overloaded
from gateway.lane import Lane
from gateway.messages import ChannelHeader
from gateway.policy.audience import hears
from gateway.policy.chat import ErrorCode, Role
from gateway.store.base import StoreUnavailable
from gateway.store.records import ChatMessage
from gateway.websocket_server import transport_of

if TYPE_CHECKING:
    from gateway.services import Services

log = logging.getLogger("gateway.sockets")

OUTBOX = 1000  # frames queued for one socket before it counts as stalled
HISTORY = 5000  # messages a join replays at most
RESYNC_ATTEMPTS = 6  # tries at catching up after an outage (0.1 s doubling: ~6 s in all)
STALL_GRACE = 2.0  # seconds a stalled socket's close may take before its connection is cut


# What the relay takes from the outbox, in order.


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


class Relay:
    """The socket's only writer, and its sink in the hub. It takes frames from one queue (the
    outbox, a Lane: an idle socket holds no task and no queue), drops a seq it already sent
    and fills a gap from the chat log. A socket whose outbox fills up has stopped reading: it
    is closed (4008) and resumes with `after=`."""

    __slots__ = ("ws", "role", "services", "outbox", "ended", "sent_seq", "closing")

    def __init__(self, websocket: WebSocket, role: Role, services: Services) -> None:
        self.ws = websocket
        self.role = role
        self.services = services
        self.outbox: Lane[_Item] = Lane(self._relay_item, OUTBOX)
        self.ended = False  # nothing more is written (the socket closed, or its reader is done)
        self.sent_seq: dict[str, int] = {}  # last seq sent per joined order
        self.closing: asyncio.Task | None = None  # set once the socket is closed for stalling

    # hub -> socket (called by the hub; must not block)

    def deliver(self, header: ChannelHeader, payload: bytes) -> None:
        if hears(self.role, header.type, header.sender, header.by):
            self._queue(_Published(header, payload))

    def resync(self, order_id: str, attempt: int = 0) -> None:
        self._queue(_Resync(order_id, attempt))

    # session -> socket

    def reply(self, frame: msgspec.Struct) -> None:
        self._queue(_Direct(messages.encode(frame)))

    def error(
        self, code: ErrorCode, message: str, client_id: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        self.services.metrics.frames.labels(code.value).inc()
        self.reply(messages.ErrorFrame(code=code, message=message, client_id=client_id, retry_after_ms=retry_after_ms))

    def joining(self, order_id: str, after: int) -> None:
        """The order's subscription is live: what the hub delivers from now on queues behind
        this, and the history is read only when the relay reaches it, so nothing falls
        between the two."""
        self._queue(_Joining(order_id, after))

    def left(self, order_id: str) -> None:
        self._queue(_Left(order_id))

    def end(self) -> None:
        """Nothing more is queued: the socket's reader is done."""
        self.ended = True

    async def stop(self) -> None:
        """Ends, and drops what is still queued (the socket is going)."""
        self.end()
        await self.outbox.stop(finish_current=False)

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
        transport = transport_of(self.ws)
        if transport is not None and (not transport.is_closing() or transport.get_write_buffer_size()):
            transport.abort()

    # the outbox, one item at a time

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
        services = self.services
        try:
            order = await services.hub.order(order_id, services.store.get_order)
            history, last_seq = await services.chat_log.page(order_id, after, HISTORY)
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
            order_id=order_id, order=services.orders.summary(order), history=history, last_seq=last_seq,
            history_lost=after > last_seq,
        )
        await self.ws.send_text(messages.encode(joined).decode())
        self.sent_seq[order_id] = last_seq

    async def _resync(self, order_id: str, attempt: int) -> None:
        """The node's subscription came back after an outage: send what was missed. When the
        store now has fewer messages than this socket has seen, the history was lost (a Redis
        that kept no data): the client is told, not left with a silent hole."""
        try:
            last = await self.services.chat_log.last_seq(order_id)
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
        """Sends what the chat log has after the last seq sent (up to `upto`), in order."""
        last = self.sent_seq[order_id]
        limit = HISTORY if upto is None else upto - last
        try:
            missing: list[ChatMessage] = await self.services.chat_log.messages(order_id, last, limit)
        except (StoreUnavailable, ConnectionError):
            return  # the next frame or resync tries again
        for message in missing:
            frame = messages.MessageFrame(order_id=order_id, message=message)
            await self.ws.send_text(messages.encode(frame).decode())
            self.sent_seq[order_id] = message.seq
