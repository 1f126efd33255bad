"""Orders: creating them, moving them through their events, and their customers' consent."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from gateway import messages, phones
from gateway.channels import OrderChannels
from gateway.clock import parse_iso
from gateway.metrics import Metrics
from gateway.policy.consent import ConsentRefused, ConsentSource, initial_consent, on_consent_request
from gateway.policy.lifecycle import FINAL, ChatState, Communications, chat_state, invalid_event_reason, on_event
from gateway.policy.routing import pick_sender
from gateway.schemas import CreateOrder, EventResult, OrderView, PostEvent, ShopperView, SMSView
from gateway.settings import Settings
from gateway.jobs.debts import Debt
from gateway.jobs.outbox import Drainer
from gateway.store.base import OrderNotFound, OrderStore, Owing
from gateway.store.records import EventRecord, OrderRecord, Shopper
from gateway.texting import Texter
from gateway.tokens import Tokens

if TYPE_CHECKING:
    from gateway.callbacks import Callbacks

log = logging.getLogger("gateway.orders")


class InvalidField(ValueError):
    """A request body whose field is well-formed JSON but not an acceptable value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Conflict(Exception):
    """An order with this id exists with another body; `fields` names what differs."""

    def __init__(self, order_id: str, fields: list[str]) -> None:
        super().__init__(order_id)
        self.fields = fields


class ConsentRefusedError(Exception):
    def __init__(self, refused: ConsentRefused) -> None:
        super().__init__(refused.message)
        self.code = refused.code


class Orders:
    """The order side of the gateway. Rules come from gateway.policy; this class loads,
    decides, stores and then tells the sockets, the customer's phone and the retailer."""

    def __init__(
        self,
        settings: Settings,
        store: OrderStore,
        channels: OrderChannels,
        tokens: Tokens,
        texter: Texter,
        drainer: Drainer,
        metrics: Metrics,
        *,
        callbacks: Callbacks | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._channels = channels
        self._tokens = tokens
        self._texter = texter
        self._drainer = drainer
        self._metrics = metrics
        self._callbacks = callbacks
        self._clock = clock

    # views

    def communications(self, order: OrderRecord) -> Communications:
        return self._settings.communications(order.retailer)

    def chat_state(self, order: OrderRecord) -> ChatState:
        return chat_state(order.workflow, self.communications(order), order.status)

    def status_url(self, order: OrderRecord) -> str:
        token = self._tokens.customer(order.id, order.created_at)
        return f"{self._settings.gateway.public_base_url}/orders/{order.id}?token={token}"

    def summary(self, order: OrderRecord) -> messages.OrderSummary:
        """The order as a socket's `joined` frame shows it."""
        return messages.OrderSummary(
            status=order.status.value, chat=self.chat_state(order).value, workflow=order.workflow.value,
            shopper=_shopper_name(order),
        )

    def view(self, order: OrderRecord) -> OrderView:
        return OrderView(
            id=order.id,
            retailer=order.retailer,
            workflow=order.workflow.value,
            status=order.status.value,
            chat=self.chat_state(order).value,
            sms=SMSView(opt_in=order.consent.opt_in, source=order.consent.source.value),
            customer_token=self._tokens.customer(order.id, order.created_at),
            status_page_url=self.status_url(order),
            shopper=ShopperView(id=order.shopper.id, name=order.shopper.name) if order.shopper else None,
        )

    # creation

    async def create(self, retailer: str, body: CreateOrder) -> tuple[OrderView, bool]:
        """Creates the order, or returns it when the same body comes again (a retry).
        Raises InvalidField and Conflict."""
        try:
            phone = phones.parse(body.customer.phone, self._settings.sms.default_region)
        except phones.InvalidPhone as exc:
            raise InvalidField("customer.phone", str(exc)) from None
        # The phone as stored, so the same number written another way is the same body.
        body = msgspec.structs.replace(body, customer=msgspec.structs.replace(body.customer, phone=phone))
        digest = hashlib.sha256(retailer.encode() + b"\0" + msgspec.json.encode(body)).hexdigest()
        existing = await self._store.get_order(body.id)
        if existing is not None:  # a retry, most likely: no sender to pick
            return self._retried(existing, digest, body), False
        now = self._clock()
        consent = initial_consent(body.workflow, body.sms_opt_in)
        sender, shared = pick_sender(self._settings.sms.numbers, await self._store.orders_of_phone(phone))
        record = OrderRecord(
            id=body.id,
            retailer=retailer,
            workflow=body.workflow,
            customer_phone=phone,
            customer_name=body.customer.name,
            locale=body.locale,
            request_digest=digest,
            consent=consent,
            sender=sender,
            created_at=now,
            version=1,
        ).with_consent(consent, now)  # the first entry of its consent log
        stored, created = await self._store.create_order(record)
        if not created:  # another request created it in between
            return self._retried(stored, digest, body), False
        if not shared:
            # A number this phone's other open orders use keeps routing to them until this
            # order is active on it (a text sent or received).
            await self._store.set_route(phone, record.sender, record.id)
        return self.view(stored), True

    def _retried(self, existing: OrderRecord, digest: str, body: CreateOrder) -> OrderView:
        """The same body again is a retry and gets the order; another body is a conflict."""
        if existing.request_digest != digest:
            first = existing.consent_log[0] if existing.consent_log else None
            asked = first.opt_in if first and first.source is ConsentSource.ORDER else None
            stored = (existing.workflow, existing.customer_phone, existing.customer_name, asked, existing.locale)
            sent = (body.workflow, body.customer.phone, body.customer.name, body.sms_opt_in, body.locale)
            names = ("workflow", "customer.phone", "customer.name", "sms_opt_in", "locale")
            differ = [name for name, old, new in zip(names, stored, sent) if old != new]
            raise Conflict(existing.id, differ or ["id"])  # same body, another retailer: the id is taken
        return self.view(existing)

    # events

    async def apply_event(self, order_id: str, body: PostEvent) -> EventResult:
        """Records an event and, when it moves the order, tells everyone. Raises InvalidField
        and gateway.store.base.OrderNotFound."""
        order = await self._store.get_order(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        reason = invalid_event_reason(order.workflow, body.event_name)
        if reason:
            raise InvalidField("event_name", reason)
        if body.occurred_at is not None:
            try:
                parse_iso(body.occurred_at)
            except ValueError as exc:
                raise InvalidField("occurred_at", f"expected an RFC 3339 timestamp: {exc}") from None
        now = self._clock()

        def change(record: OrderRecord):
            transition = on_event(record.status, record.seen_event_ids(), body.event_id, body.event_name)
            if transition.repeated:
                return None, (False, record, None, False)
            event = EventRecord(
                event_id=body.event_id, event_name=body.event_name, occurred_at=body.occurred_at,
                received_at=now, applied=transition.applied,
            )
            shopper = record.shopper
            if body.shopper is not None and record.status not in FINAL:
                shopper = Shopper(id=body.shopper.id, name=body.shopper.name)
            updated = msgspec.structs.replace(
                record,
                events=(*record.events, event),
                status=transition.status,
                shopper=shopper,
                closed_at=now if transition.status in FINAL and transition.applied else record.closed_at,
            )
            return updated, (transition.applied, updated, event, shopper != record.shopper)

        owed: list[Owing] = []  # what the update that was written owes (change may run twice)

        def owing(result) -> Owing:
            applied, record, event, _ = result
            owed[:] = [self._owing(record, event) if applied else Owing()]
            return owed[0]

        applied, updated, event, new_shopper = await self._store.update_order(order_id, change, owing)
        if applied:
            await self._announce(updated, owed[0].debts)
        elif new_shopper:  # an event that does not move the order may still assign its shopper
            await self._publish_status(updated)
        return EventResult(applied=applied, status=updated.status.value)

    def _owing(self, order: OrderRecord, event: EventRecord) -> Owing:
        """What an applied event owes, written with it: the status text, the retailer's
        callback and, when it closes the order, the order's expiry."""
        debts = [
            self._texter.event_debt(order, event.event_name, event.event_id, self.status_url(order)),
            self._callbacks.debt(order, event) if self._callbacks is not None else None,
        ]
        retention = self._settings.gateway.chat_retention_seconds if order.status in FINAL else None
        return Owing(debts=tuple(debt for debt in debts if debt is not None), expire_after=retention)

    async def _publish_status(self, order: OrderRecord) -> None:
        await self._channels.status(order.id, order.status.value, self.chat_state(order).value, _shopper_name(order))

    async def _announce(self, order: OrderRecord, debts: tuple[Debt, ...]) -> None:
        """Queues what the event owes (written with it: should this node die first, another
        node's Drainer queues it), and tells the sockets."""
        try:
            await self._drainer.drain(order.id, debts)
        except (ConnectionError, OSError) as exc:
            log.warning("could not queue an event's debts yet (%s); the outbox keeps them", type(exc).__name__)
        await self._publish_status(order)

    # consent

    async def set_consent(self, order_id: str, opt_in: bool, source: ConsentSource) -> SMSView:
        """The page's switch (customer) or customer experience (support) sets consent.
        Raises ConsentRefusedError and OrderNotFound."""
        order = await self._store.get_order(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        block = await self._store.block(order.customer_phone, order.sender)
        now = self._clock()

        def change(record: OrderRecord):
            decided = on_consent_request(record.consent, opt_in, source, block.keyword)
            if isinstance(decided, ConsentRefused):
                return None, decided
            return record.with_consent(decided, now), decided

        decided = await self._store.update_order(order_id, change)
        if isinstance(decided, ConsentRefused):
            raise ConsentRefusedError(decided)
        return SMSView(opt_in=decided.opt_in, source=decided.source.value)


def _shopper_name(order: OrderRecord) -> messages.ShopperName | None:
    return messages.ShopperName(name=order.shopper.name) if order.shopper else None
