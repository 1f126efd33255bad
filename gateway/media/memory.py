"""MemoryMediaStore: the photos of embedded mode."""

from __future__ import annotations

from gateway.media.base import Photo
from gateway.store.memory import MemoryOrderStore


class MemoryMediaStore:
    """Photos in this process's memory, kept while the memory order store keeps their order
    (the same `alive` test the memory chat log uses), dropped by `sweep` once it does not."""

    def __init__(self, orders: MemoryOrderStore) -> None:
        self._orders = orders
        self._photos: dict[str, dict[str, Photo]] = {}

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def _of(self, order_id: str) -> dict[str, Photo]:
        if not self._orders.alive(order_id):
            self._photos.pop(order_id, None)
            return {}
        return self._photos.get(order_id, {})

    def sweep(self) -> None:
        """Drops the photos of orders the order store no longer has."""
        for order_id in [i for i in self._photos if not self._orders.alive(i)]:
            del self._photos[order_id]

    async def put(self, order_id: str, photo: Photo) -> bool:
        if not self._orders.alive(order_id):
            return False
        self._photos.setdefault(order_id, {})[photo.id] = photo
        return True

    async def get(self, order_id: str, media_id: str) -> Photo | None:
        return self._of(order_id).get(media_id)

    async def types(self, order_id: str, media_ids: list[str]) -> dict[str, str]:
        photos = self._of(order_id)
        return {i: photos[i].content_type for i in media_ids if i in photos}
