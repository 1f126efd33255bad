"""Inbound: what a customer's text does, whichever way it arrived (Twilio or the dev phone)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import msgspec

from gateway import phones, templates
from gateway.chat import Chat
from gateway.metrics import Metrics
from gateway.mms import InboundPhotos
from gateway.orders import Orders
from gateway.policy.chat import MAX_TEXT, InboundAction, InboundDecision, Role, Via, on_inbound_sms
from gateway.policy import proposals
from gateway.policy.consent import Consent, ConsentSource, classify_keyword
from gateway.policy.lifecycle import FINAL, Communications
from gateway.policy.routing import route_inbound
from gateway.settings import Settings
from gateway.sms.base import InboundSMS
from gateway.store.base import OrderNotFound, OrderStore
from gateway.store.records import OrderRecord

log = logging.getLogger("gateway.inbound")

SEEN_TTL = 7 * 86400  # how long a provider message id is remembered for dedupe


class Inbound:
    """Routes a text by (phone, our number) to an order, applies keywords, joins it to the
    chat or answers it. Returns the reply texts (TwiML <Message>s for Twilio)."""

    def __init__(
        self,
        settings: Settings,
        store: OrderStore,
        orders: Orders,
        chat: Chat,
        photos_in: InboundPhotos,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._orders = orders
        self._chat = chat
        self._photos_in = photos_in
        self._metrics = metrics
        self._clock = clock

    async def handle(self, sms: InboundSMS) -> list[str]:
        if not await self._store.first_sight(f"inbound:{sms.sid}", SEEN_TTL):
            self._metrics.inbound_texts.labels("duplicate").inc()
            return []
        phone = phones.normalize(sms.phone, self._settings.sms.default_region)
        if phone is None:
            self._metrics.inbound_texts.labels("ignore").inc()
            return []
        keyword = classify_keyword(sms.body, sms.opt_out_type)
        order, routed = await self._route(phone, sms.sender)
        state = self._orders.chat_state(order) if order else None
        replied = frozenset(order.replied_states) if order else frozenset()
        may_reply = order is None or self._orders.communications(order) is Communications.PLATFORM
        decision = on_inbound_sms(keyword, state, replied, may_reply=may_reply)
        self._metrics.inbound_texts.labels(decision.action.value).inc()
        return await self._carry_out(decision, sms, phone, order, routed)

    async def _carry_out(
        self, decision: InboundDecision, sms: InboundSMS, phone: str, order: OrderRecord | None, routed: bool
    ) -> list[str]:
        """`routed`: the phone's texts to this number already go to `order`."""
        match decision.action:
            case InboundAction.BLOCK:
                await self._store.set_blocked(phone, None, True)
                await self._set_open_orders(phone, opt_in=False)
                log.info("%s texted a stop keyword; blocked on every number", phones.mask(phone))
                return []
            case InboundAction.UNBLOCK:
                await self._store.set_blocked(phone, None, False)
                await self._store.set_blocked(phone, sms.sender, False)
                await self._set_open_orders(phone, opt_in=True)
                return []
            case InboundAction.HELP:
                assert order is not None
                return [templates.help_reply(*self._retailer_contact(order))]
            case InboundAction.IGNORE:
                return []
            case InboundAction.APPEND:
                assert order is not None
                if not await self._answered_by_digit(order, sms, routed):
                    await self._append(order, sms, routed)
                return []
            case InboundAction.KEEP:
                assert order is not None
                await self._append(order, sms, routed)
                return []
            case InboundAction.KEEP_AND_REPLY:
                assert order is not None and decision.reply_state is not None
                await self._append(order, sms, routed)
                if not await self._mark_replied(order.id, decision.reply_state.value):
                    return []  # another node replied first
                return [templates.polite_reply(decision.reply_state.value, *self._retailer_contact(order))]
        return []

    def _retailer_contact(self, order: OrderRecord) -> tuple[str, str]:
        return self._settings.retailer_name(order.retailer), self._settings.retailer_support(order.retailer)

    async def _route(self, phone: str, sender: str) -> tuple[OrderRecord | None, bool]:
        """The order this text is about (policy.routing.route_inbound), and whether the phone's
        texts to `sender` already go to it."""
        orders, routed = await self._store.orders_and_route(phone, sender)
        chosen = route_inbound(orders, routed, sender)
        return next((o for o in orders if o.id == chosen), None), chosen is not None and chosen == routed

    async def _append(self, order: OrderRecord, sms: InboundSMS, routed: bool) -> None:
        text = sms.body.strip()
        parts = [text[start : start + MAX_TEXT] for start in range(0, len(text), MAX_TEXT)]
        if sms.media:  # the photos come with the last part, once fetched (gateway.mms)
            *parts, last = parts or [""]
        for part in parts:  # a long text becomes several messages
            await self._chat.post(order, Role.CUSTOMER, Via.SMS, part)
        if sms.media:
            await self._photos_in.receive(order, sms, last)
        # The customer is talking about this order: their next text on this number goes to it.
        if not routed:
            await self._store.set_route(order.customer_phone, sms.sender, order.id)

    async def _answered_by_digit(self, order: OrderRecord, sms: InboundSMS, routed: bool) -> bool:
        """A text of just one digit answers the order's latest open proposal, when the digit
        is one of its choices; whether it is the first answer the chat log decides, atomically
        (a page may have answered on another node). Any other case is ordinary chat."""
        choice = proposals.digit_answer(sms.body)
        if choice is None or sms.media:
            return False
        proposal = await self._chat.latest_open_proposal(order.id)
        if proposal is None or proposal.proposal is None:
            return False
        if proposals.answer_error(len(proposal.proposal.options), choice, answered=False) is not None:
            return False
        message, _ = await self._chat.answer(order, Via.SMS, proposal, choice)
        if message is None:
            return False  # answered first by someone else: the digit is just chat
        if not routed:
            await self._store.set_route(order.customer_phone, sms.sender, order.id)
        return True

    async def _mark_replied(self, order_id: str, state: str) -> bool:
        def change(record: OrderRecord):
            if state in record.replied_states:
                return None, False
            return msgspec.structs.replace(record, replied_states=(*record.replied_states, state)), True

        try:
            return await self._store.update_order(order_id, change)
        except OrderNotFound:
            return False

    async def _set_open_orders(self, phone: str, *, opt_in: bool) -> None:
        now = self._clock()
        consent = Consent(opt_in=opt_in, source=ConsentSource.KEYWORD)

        def change(record: OrderRecord):
            if record.status in FINAL or record.consent == consent:
                return None, None
            return record.with_consent(consent, now), None

        for order in await self._store.orders_of_phone(phone):
            if order.status not in FINAL:
                try:
                    await self._store.update_order(order.id, change)
                except OrderNotFound:
                    pass
