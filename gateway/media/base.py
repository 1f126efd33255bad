"""The MediaStore seam: each order's photos (contract section 10), kept as long as the order."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Photo(msgspec.Struct, frozen=True):
    """A stored photo: checked, cleaned, and of one of the four accepted types."""

    id: str
    content_type: str
    data: bytes


class MediaStore(Protocol):
    """Photos by order, then by id.

    Guarantees every implementation keeps:
    - `put` stores a photo only while its order exists (else it returns False), and the photo
      goes when the order goes: `OrderStore.expire_order` covers it, at the same instant.
    - `get` and `types` find a photo only under the order it was stored for: an id of
      another order, an unknown id and a purged one read the same (absent).
    - Any method may raise StoreUnavailable.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, order_id: str, photo: Photo) -> bool: ...

    async def get(self, order_id: str, media_id: str) -> Photo | None: ...

    async def types(self, order_id: str, media_ids: list[str]) -> dict[str, str]:
        """The content type of each of `media_ids` this order has (the bytes are not read)."""
        ...
