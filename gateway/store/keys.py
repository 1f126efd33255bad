"""Redis key names. Every key of one order shares the order's hash tag, so an order lives in
one Redis Cluster slot and a script may touch all of it."""

from __future__ import annotations

import zlib


def order_tag(order_id: str) -> str:
    """The hash tag every key and the channel of one order share (one Redis Cluster slot)."""
    return f"{{order:{order_id}}}"


class OrderKeys:
    __slots__ = ("rec", "history", "clients", "texts", "owed", "presence", "read", "media", "media_types")

    def __init__(self, order_id: str) -> None:
        tag = order_tag(order_id)
        self.rec = f"{tag}:rec"  # the msgpack OrderRecord
        self.history = f"{tag}:msgs"  # list of message json; its length is the last seq
        self.clients = f"{tag}:clients"  # "<sender>:<client_id>" -> seq
        self.texts = f"{tag}:texts"  # seq -> SMS state
        self.owed = f"{tag}:owed"  # the outbox: job id -> kind + "\n" + payload (jobs/debts.py)
        self.presence = f"{tag}:presence"  # customer socket id -> lease end (ms, Redis time)
        self.read = f"{tag}:read"  # the highest seq the customer read on the page
        self.media = f"{tag}:media"  # photo id -> bytes (gateway/media)
        self.media_types = f"{tag}:media_types"  # photo id -> content type

    def all(self) -> tuple[str, ...]:
        return (
            self.rec, self.history, self.clients, self.texts, self.owed, self.presence, self.read, self.media,
            self.media_types,
        )


def phone_orders(phone: str) -> str:
    return f"phone:{phone}:orders"  # sorted set: order id scored by created_at


def phone_routes(phone: str) -> str:
    return f"phone:{phone}:routes"  # hash: sender -> order id


def phone_blocks(phone: str) -> str:
    return f"phone:{phone}:blocks"  # set: "keyword" and/or "sender:<number>"


def outbox_index(bucket: int | None = None) -> str:
    """Sorted set: order id scored by when to look at its outbox; on a cluster, one per bucket."""
    return "{outbox}:orders" if bucket is None else f"{{outbox:{bucket}}}:orders"


def bucket(key: str, buckets: int) -> int | None:
    """The bucket of a shared key that `key` (an order or job id) goes to: None when there is
    one (a single Redis keeps the key names it always had)."""
    return None if buckets == 1 else zlib.crc32(key.encode()) % buckets


def seen(key: str) -> str:
    return f"seen:{key}"


def text(sid: str) -> str:
    return f"{{text:{sid}}}"  # a sent text's TextRef (tagged: one slot with its early reports)


def early_statuses(sid: str) -> str:
    return f"{{text:{sid}}}:early"  # list: status reports that came before the sid was linked
