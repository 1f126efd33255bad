"""Photos: the one way a photo gets into an order's MediaStore, whoever sent it (an upload,
a customer's MMS): checked by content, cleaned, stored under a new random id."""

from __future__ import annotations

import asyncio
import secrets

from gateway.media import images
from gateway.media.base import MediaStore, Photo
from gateway.media.checks import SNIFF_BYTES, MediaType, content_problem
from gateway.media.urls import MediaLinks, expiry_for
from gateway.store.base import OrderNotFound
from gateway.store.records import MediaRef, OrderRecord

# Photos opened by Pillow at once on this node: each may decode up to images.MAX_PIXELS
# pixels (~150 MB for RGB), so a burst of uploads waits its turn instead of taking the memory.
DECODING_AT_ONCE = 2


class UnsupportedMedia(ValueError):
    """The bytes are not the image type they were said to be (415)."""


class MediaTooLarge(ValueError):
    """The image is too large to take: in bytes, or in the pixels it unfolds to (413)."""


class Photos:
    def __init__(self, store: MediaStore, links: MediaLinks) -> None:
        self._store = store
        self._links = links
        self._decoding = asyncio.Semaphore(DECODING_AT_ONCE)

    async def add(self, order_id: str, declared: MediaType, data: bytes) -> Photo:
        """Stores `data` as a photo of `order_id`. Raises UnsupportedMedia, MediaTooLarge, or
        OrderNotFound (the order was purged meanwhile)."""
        problem = content_problem(declared, data[:SNIFF_BYTES])
        if problem is not None:
            raise UnsupportedMedia(problem)
        async with self._decoding:
            try:
                cleaned = await asyncio.to_thread(images.prepare, declared, data)
            except images.NotAnImage as exc:
                raise UnsupportedMedia(str(exc)) from None
            except images.TooManyPixels as exc:
                raise MediaTooLarge(str(exc)) from None
        photo = Photo(id=secrets.token_urlsafe(16), content_type=declared.value, data=cleaned)
        if not await self._store.put(order_id, photo):
            raise OrderNotFound(order_id)
        return photo

    def ref_of(self, order: OrderRecord, media_id: str, content_type: str) -> MediaRef:
        """How a message carries a photo: with a link signed to last as long as the order."""
        url = self._links.url(order.id, media_id, expiry_for(order.created_at))
        return MediaRef(id=media_id, content_type=content_type, url=url)

    async def refs(self, order: OrderRecord, media_ids: list[str]) -> list[MediaRef] | None:
        """The photos `media_ids` name, in that order, if every one is a photo of this order;
        None if any is not (another order's, unknown, or purged)."""
        types = await self._store.types(order.id, media_ids)
        if len(types) != len(media_ids):
            return None
        return [self.ref_of(order, media_id, types[media_id]) for media_id in media_ids]
