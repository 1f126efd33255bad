"""Services: every part of one gateway node, built once from the settings and handed, typed,
to whatever uses them (endpoints, sockets, middleware). Nothing is looked up by name."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from gateway import callbacks as callbacks_module
from gateway import mms, texting
from gateway.broker.base import Broker
from gateway.callbacks import Callbacks
from gateway.capacity import Capacity, Refusals
from gateway.channels import OrderChannels
from gateway.chat import Chat
from gateway.chatlog.base import ChatLog
from gateway.hub import Hub
from gateway.inbound import Inbound
from gateway.jobs.base import JobQueue
from gateway.jobs.outbox import Drainer, Outbox
from gateway.jobs.worker import Doorbell, Worker
from gateway.media.base import MediaStore
from gateway.media.photos import Photos
from gateway.media.urls import MediaLinks
from gateway.metrics import Metrics
from gateway.mms import InboundPhotos
from gateway.orders import Orders
from gateway.presence.base import Presence
from gateway.presence.keeper import PresenceKeeper
from gateway.settings import Settings
from gateway.sms.base import MediaSource, SMSTransport
from gateway.sms.timed import TimedTransport
from gateway.store.base import OrderStore
from gateway.texting import Texter
from gateway.tokens import Tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """One node's parts. `start` and `close` of the ones that have them are the app's
    lifespan's job (`parts`), in that order and in reverse."""

    settings: Settings
    clock: Callable[[], float]  # wall time: tokens, retention, timestamps
    monotonic: Callable[[], float]  # intervals: rate limits
    store: OrderStore
    chat_log: ChatLog
    presence: PresenceKeeper  # which customers read the page (contract section 9)
    media: MediaStore
    media_links: MediaLinks
    photos: Photos
    broker: Broker
    channels: OrderChannels
    jobs: JobQueue
    sms: SMSTransport
    metrics: Metrics
    tokens: Tokens
    texter: Texter
    orders: Orders
    chat: Chat
    inbound: Inbound
    hub: Hub
    callbacks: Callbacks
    drainer: Drainer  # moves what orders owe from their outboxes to the job queue
    text_worker: Worker
    callback_worker: Worker
    media_source: MediaSource  # where inbound MMS photos come from
    photos_in: InboundPhotos
    mms_worker: Worker
    capacity: Capacity
    refusals: Refusals  # work refused past capacity: counted, logged once per interval
    connections: tuple = ()  # shared clients (Redis), closed after the parts that use them

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        sms: SMSTransport | None = None,
        jobs: JobQueue | None = None,
        broker: Broker | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        capacity: Capacity = Capacity(),
        callbacks_http: httpx.AsyncClient | None = None,
    ) -> Services:
        """Builds each part from `settings` (tests may give the SMS transport, the job queue
        and, in embedded mode, the broker: fakes that record or misbehave; a smaller
        `capacity`; and the HTTP client callbacks go out through, which its giver closes).
        Nothing connects yet: that happens in `start`, inside the running loop."""
        metrics = Metrics()
        refusals = Refusals(metrics.overloaded)
        if settings.gateway.embedded:
            from gateway.broker.memory import MemoryBroker
            from gateway.chatlog.memory import MemoryChatLog
            from gateway.jobs.memory import MemoryJobQueue
            from gateway.media.memory import MemoryMediaStore
            from gateway.presence.memory import MemoryPresence
            from gateway.store.memory import MemoryOrderStore

            broker = broker or MemoryBroker()
            channels = OrderChannels(broker)
            memory_store = MemoryOrderStore(clock)
            store: OrderStore = memory_store
            chat_log: ChatLog = MemoryChatLog(memory_store, channels)
            outbox: Outbox = memory_store.outbox
            media: MediaStore = MemoryMediaStore(memory_store)
            presence: Presence = MemoryPresence(memory_store, clock)
            jobs = jobs or MemoryJobQueue()
            connections: tuple = ()
        else:
            from gateway.broker.redis import RedisBroker
            from gateway.chatlog.redis import RedisChatLog
            from gateway.jobs.redis import RedisJobQueue
            from gateway.jobs.redis_outbox import RedisOutbox
            from gateway.media.redis import RedisMediaStore
            from gateway.presence.redis import RedisPresence
            from gateway.order_changes import OrderChanges
            from gateway.redis_connection import SharedClient
            from gateway.store.redis import RedisOrderStore

            if broker is not None:
                raise ValueError("a broker is given only in embedded mode; Redis mode builds its own")
            if settings.gateway.redis_cluster:
                from gateway.broker.cluster import RedisClusterBroker
                from gateway.redis_connection import SharedClusterClient

                shared = SharedClusterClient(settings.gateway.redis_url, capacity, refusals)
                broker = RedisClusterBroker(settings.gateway.redis_url, shared.redis)
            else:
                shared = SharedClient(settings.gateway.redis_url, capacity, refusals)
                broker = RedisBroker(settings.gateway.redis_url, shared.redis)
            channels = OrderChannels(broker)
            # Every record write is announced, so hubs may keep copies (one read per change,
            # not one per chat message).
            store = OrderChanges(RedisOrderStore(shared.redis), broker)
            chat_log = RedisChatLog(shared.redis)
            media = RedisMediaStore(shared.redis)
            presence = RedisPresence(shared.redis)
            jobs = jobs or RedisJobQueue(shared.redis)  # on a cluster, spread over buckets
            outbox = RedisOutbox(shared.redis)
            connections = (shared,)
        sms = sms or _transport(settings)
        tokens = Tokens(settings.gateway.secret)
        media_links = MediaLinks(settings.gateway.secret, settings.gateway.public_base_url)
        texts_due, callbacks_due, mms_due = Doorbell(), Doorbell(), Doorbell()
        drainer = Drainer(
            outbox, jobs, {texting.KIND: texts_due.ring, callbacks_module.KIND: callbacks_due.ring}, clock=clock
        )
        timed = TimedTransport(sms, metrics)  # the parts start and close `sms` itself
        texter = Texter(settings, store, chat_log, presence, timed, metrics, clock=clock)
        callbacks = Callbacks(settings, jobs, metrics, clock=clock, http=callbacks_http, on_put=callbacks_due.ring)
        orders = Orders(settings, store, channels, tokens, texter, drainer, metrics, callbacks=callbacks, clock=clock)
        chat = Chat(chat_log, texter, drainer, metrics, clock=clock)
        hub = Hub(broker, cache_orders=not settings.gateway.embedded, monotonic=monotonic)
        metrics.watch_hub(lambda: hub.orders, lambda: hub.attachments)
        photos = Photos(media, media_links)
        media_source = _media_source(settings, sms)
        photos_in = InboundPhotos(
            store, chat, photos, media_source, jobs, settings.limits.media_bytes, clock=clock, on_put=mms_due.ring
        )
        return cls(
            settings=settings,
            clock=clock,
            monotonic=monotonic,
            store=store,
            chat_log=chat_log,
            presence=PresenceKeeper(presence),
            media=media,
            media_links=media_links,
            photos=photos,
            broker=broker,
            channels=channels,
            jobs=jobs,
            sms=sms,
            metrics=metrics,
            tokens=tokens,
            texter=texter,
            orders=orders,
            chat=chat,
            inbound=Inbound(settings, store, orders, chat, photos_in, metrics, clock=clock),
            hub=hub,
            callbacks=callbacks,
            drainer=drainer,
            text_worker=Worker(jobs, texting.KIND, texter.handle, texts_due, clock=clock, retried=metrics.job_retries),
            callback_worker=Worker(jobs, callbacks_module.KIND, callbacks.handle, callbacks_due, clock=clock, retried=metrics.job_retries),
            media_source=media_source,
            photos_in=photos_in,
            mms_worker=Worker(jobs, mms.KIND, photos_in.handle, mms_due, clock=clock, retried=metrics.job_retries),
            capacity=capacity,
            refusals=refusals,
            connections=connections,
        )

    def parts(self) -> tuple:
        """What the lifespan starts, in this order, and closes in reverse."""
        return (
            *self.connections, self.broker, self.store, self.media, self.presence, self.jobs,
            self.sms, self.callbacks,
            self.media_source, self.text_worker, self.callback_worker, self.mms_worker, self.drainer,
        )


def _media_source(settings: Settings, sms: SMSTransport) -> MediaSource:
    """Twilio's API with provider twilio; in console mode, /dev's phone (the console transport
    keeps the photos it sends)."""
    if settings.sms.provider == "twilio":
        from gateway.sms.twilio_media import TwilioMediaSource

        return TwilioMediaSource(
            settings.sms.twilio_account_sid, settings.sms.twilio_auth_token, settings.sms.twilio_api_base
        )
    from gateway.sms.console import ConsoleTransport

    return sms if isinstance(sms, ConsoleTransport) else ConsoleTransport()


def _transport(settings: Settings) -> SMSTransport:
    if settings.sms.provider == "twilio":
        from gateway.sms.twilio import TwilioTransport

        return TwilioTransport(
            settings.sms.twilio_account_sid, settings.sms.twilio_auth_token, settings.sms.twilio_api_base
        )
    from gateway.sms.console import ConsoleTransport

    return ConsoleTransport()
